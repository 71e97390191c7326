import { InfraError, newId } from '@infra/core';
import type { Kysely } from 'kysely';
import type { Actor } from '../flows/engine.js';
import { wmsStore, type WmsDb } from './store.js';
import type { WaveBody, ScanBody, WaveView } from './schema.js';

type AnyDb = Kysely<any>;
const w = (db: AnyDb): WmsDb => db as WmsDb;

/**
 * Pick waves: the held reservations of a set of orders become pick tasks, sorted by bin (the walk),
 * and each is confirmed by scanning its SKU and bin. Picking does not move stock: it leaves at ship.
 */
export class WaveService {
  constructor(private readonly db: AnyDb, private readonly now: () => number = Date.now) {}

  async create(body: WaveBody, actor: Actor): Promise<WaveView> {
    const id = await this.db.transaction().execute(async (trx) => {
      const wh = await w(trx).selectFrom('wms_warehouses').select('id').where('code', '=', body.warehouse).executeTakeFirst();
      if (!wh) throw new InfraError('INFRA_ERR_NOT_FOUND', `warehouse ${body.warehouse} not found`);
      const held = await w(trx).selectFrom('wms_reservations').innerJoin('wms_inventory', 'wms_inventory.id', 'wms_reservations.inventory_id')
        .leftJoin('wms_pick_tasks', 'wms_pick_tasks.reservation_id', 'wms_reservations.id')
        .select(['wms_reservations.id', 'wms_reservations.doc_id', 'wms_reservations.qty', 'wms_inventory.sku', 'wms_inventory.location_id', 'wms_inventory.lot'])
        .where('wms_reservations.doc_type', '=', 'order').where('wms_reservations.doc_id', 'in', body.orders).where('wms_reservations.status', '=', 'held')
        .where('wms_inventory.warehouse_id', '=', wh.id).where('wms_pick_tasks.id', 'is', null)
        .execute();
      if (held.length === 0) throw new InfraError('INFRA_ERR_CONFLICT', 'nothing to pick: these orders have no held stock in this warehouse outside another wave');
      const waveId = newId('wav', this.now());
      await w(trx).insertInto('wms_waves').values({ id: waveId, warehouse_id: wh.id, status: 'open', created_by: actor.id, created_at: this.now() }).execute();
      await w(trx).insertInto('wms_pick_tasks').values(held.map((r) => ({ wave_id: waveId, reservation_id: r.id, doc_id: r.doc_id, sku: r.sku, location_id: r.location_id, lot: r.lot, qty: r.qty, picked: 0, picked_by: null, picked_at: null }))).execute();
      return waveId;
    });
    return this.get(id);
  }

  async get(id: string): Promise<WaveView> {
    const wave = await w(this.db).selectFrom('wms_waves').innerJoin('wms_warehouses', 'wms_warehouses.id', 'wms_waves.warehouse_id')
      .select(['wms_waves.id', 'wms_waves.status', 'wms_warehouses.code']).where('wms_waves.id', '=', id).executeTakeFirst();
    if (!wave) throw new InfraError('INFRA_ERR_NOT_FOUND', `wave ${id} not found`);
    const tasks = await w(this.db).selectFrom('wms_pick_tasks').innerJoin('wms_locations', 'wms_locations.id', 'wms_pick_tasks.location_id')
      .select(['wms_pick_tasks.id', 'wms_pick_tasks.doc_id', 'wms_pick_tasks.sku', 'wms_pick_tasks.lot', 'wms_pick_tasks.qty', 'wms_pick_tasks.picked', 'wms_pick_tasks.picked_by', 'wms_locations.code'])
      .where('wms_pick_tasks.wave_id', '=', id).orderBy('wms_locations.code').orderBy('wms_pick_tasks.sku').orderBy('wms_pick_tasks.id').execute();
    const serials = new Map<number, string[]>();
    if (tasks.length) {
      for (const r of await w(this.db).selectFrom('wms_pick_serials').select(['task_id', 'serial']).where('task_id', 'in', tasks.map((t) => t.id)).orderBy('serial').execute()) {
        serials.set(r.task_id, [...(serials.get(r.task_id) ?? []), r.serial]);
      }
    }
    return {
      id: wave.id, warehouse: wave.code, status: wave.status as WaveView['status'],
      tasks: tasks.map((t) => ({ id: t.id, order: t.doc_id, sku: t.sku, location: `${wave.code}:${t.code}`, lot: t.lot, qty: t.qty, picked: t.picked, pickedBy: t.picked_by, serials: serials.get(t.id) ?? [] })),
    };
  }

  /**
   * A scan of SKU + bin confirms the first open task that matches (all of it, or `qty`). A serial-tracked SKU is
   * scanned with its serials, one per unit: each must be on hand at that bin by the ledger and not picked already.
   */
  async scan(id: string, body: ScanBody, actor: Actor): Promise<WaveView> {
    await this.db.transaction().execute(async (trx) => {
      const wave = await w(trx).selectFrom('wms_waves').select(['warehouse_id', 'status']).where('id', '=', id).executeTakeFirst();
      if (!wave) throw new InfraError('INFRA_ERR_NOT_FOUND', `wave ${id} not found`);
      const [whCode, code] = body.location.split(':') as [string, string];
      const loc = await w(trx).selectFrom('wms_locations').innerJoin('wms_warehouses', 'wms_warehouses.id', 'wms_locations.warehouse_id')
        .select('wms_locations.id').where('wms_warehouses.code', '=', whCode).where('wms_locations.code', '=', code).executeTakeFirst();
      const task = loc && await w(trx).selectFrom('wms_pick_tasks').selectAll().where('wave_id', '=', id).where('sku', '=', body.sku).where('location_id', '=', loc.id)
        .whereRef('picked', '<', 'qty').orderBy('id').executeTakeFirst();
      if (!task) throw new InfraError('INFRA_ERR_CONFLICT', `no open pick of ${body.sku} at ${body.location} in wave ${id}: wrong item or wrong bin`);
      const sku = await w(trx).selectFrom('wms_skus').select('serial_tracked').where('sku', '=', body.sku).executeTakeFirstOrThrow();
      const serials = body.serials ?? [];
      if (!sku.serial_tracked && serials.length) throw new InfraError('INFRA_ERR_VALIDATION', `${body.sku} is not serial-tracked: scan it without serials`, { details: [{ path: 'body.serials', message: 'not serial-tracked' }] });
      if (sku.serial_tracked) {
        if (serials.length === 0 || (body.qty !== undefined && body.qty !== serials.length)) {
          throw new InfraError('INFRA_ERR_VALIDATION', `${body.sku} is serial-tracked: scan one serial per unit picked`, { details: [{ path: 'body.serials', message: 'one serial per unit' }] });
        }
        if (new Set(serials).size !== serials.length) throw new InfraError('INFRA_ERR_VALIDATION', 'a serial was scanned twice', { details: [{ path: 'body.serials', message: 'duplicate' }] });
        for (const serial of serials) {
          if ((await wmsStore.serialOnHand(w(trx), body.sku, serial, loc.id)) !== 1) throw new InfraError('INFRA_ERR_CONFLICT', `serial ${serial} of ${body.sku} is not on hand at ${body.location}`);
          if (await wmsStore.serialPicked(w(trx), body.sku, serial)) throw new InfraError('INFRA_ERR_CONFLICT', `serial ${serial} of ${body.sku} is already picked for another order`);
        }
      }
      const qty = sku.serial_tracked ? serials.length : body.qty ?? task.qty - task.picked;
      const r = await w(trx).updateTable('wms_pick_tasks').set((eb) => ({ picked: eb('picked', '+', qty), picked_by: actor.id, picked_at: this.now() }))
        .where('id', '=', task.id).where(({ eb, ref }) => eb(ref('picked'), '<=', eb(ref('qty'), '-', qty))).executeTakeFirst();
      if (Number(r.numUpdatedRows) !== 1) throw new InfraError('INFRA_ERR_CONFLICT', `scanning ${qty} would pick more than the ${task.qty - task.picked} left`);
      await wmsStore.insertPickSerials(w(trx), serials.map((serial) => ({ reservation_id: task.reservation_id, task_id: task.id, sku: body.sku, serial })));
      const open = await w(trx).selectFrom('wms_pick_tasks').select('id').where('wave_id', '=', id).whereRef('picked', '<', 'qty').executeTakeFirst();
      if (!open) await w(trx).updateTable('wms_waves').set({ status: 'picked' }).where('id', '=', id).execute();
    });
    return this.get(id);
  }
}
