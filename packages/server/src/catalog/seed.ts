import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Value } from '@sinclair/typebox/value';
import { parse } from 'yaml';
import { InfraError, type ErrorDetail } from '@infra/core';
import type { Kysely } from 'kysely';
import { openFulfillmentDb } from '../fulfillment-db.js';
import { ExceptionService } from '../exceptions/index.js';
import { WmsService } from '../wms/index.js';
import { SeedFile, seedKeys } from './schema.js';
import { RiderSeedList, seedRiders } from '../riders/seed.js';

export interface SeedSummary {
  files: string[];
  warehouses: number;
  locations: number;
  skus: number;
  stockLines: number;
  /** riders created (seed `riders:`, packages/server/src/riders) */
  riders: number;
  /** what already existed and was kept */
  skipped: number;
}

const ACTOR = { id: 'infra-seed', role: 'admin' as const };

/**
 * Loads the stack's seed/*.yaml (warehouses, bins, SKUs, stock) into fulfillment.db through the WMS
 * logic, so stock arrives as receipts with ledger rows. Idempotent: what exists is kept, stock of a
 * warehouse is received once (receipt reference `seed`). Works whether or not the stack is running.
 */
export async function seedStack(opts: { stackDir: string; dataDir: string }): Promise<SeedSummary> {
  const dir = join(opts.stackDir, 'seed');
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort() : [];
  const docs: { file: string; data: SeedFile; riders: RiderSeedList }[] = [];
  for (const f of files) {
    const file = join(dir, f);
    let raw: unknown;
    try {
      raw = parse(readFileSync(file, 'utf8'));
    } catch (err) {
      throw new InfraError('INFRA_ERR_VALIDATION', `${file}: ${(err as Error).message}`);
    }
    const mine = Object.fromEntries(Object.entries((raw ?? {}) as Record<string, unknown>).filter(([k]) => (seedKeys as readonly string[]).includes(k)));
    const errors: ErrorDetail[] = [...Value.Errors(SeedFile, mine)].map((e) => ({ file, path: e.path, message: `${file}: ${e.path}: ${e.message}` }));
    for (const [i, s] of ((mine as SeedFile).stock ?? []).entries()) {
      if (s && typeof s.expiresAt === 'string' && Number.isNaN(Date.parse(s.expiresAt))) errors.push({ file, path: `/stock/${i}/expiresAt`, message: `${file}: /stock/${i}/expiresAt: not a date (use 2027-04-30)` });
    }
    const riders = ((raw ?? {}) as { riders?: unknown }).riders ?? [];
    errors.push(...[...Value.Errors(RiderSeedList, riders)].map((e) => ({ file, path: `/riders${e.path}`, message: `${file}: /riders${e.path}: ${e.message}` })));
    if (errors.length) throw new InfraError('INFRA_ERR_VALIDATION', errors[0]!.message, { details: errors });
    docs.push({ file, data: mine as SeedFile, riders: riders as RiderSeedList });
  }
  const summary: SeedSummary = { files: docs.map((d) => d.file), warehouses: 0, locations: 0, skus: 0, stockLines: 0, riders: 0, skipped: 0 };
  const { database } = await openFulfillmentDb(opts.dataDir);
  try {
    const db = database.db as unknown as Kysely<any>;
    const wms = new WmsService(db, new ExceptionService(db), () => undefined);
    const kept = async (fn: () => Promise<unknown>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (err) {
        if (err instanceof InfraError && err.code === 'INFRA_ERR_CONFLICT') {
          summary.skipped++;
          return false;
        }
        throw err;
      }
    };
    for (const { data, riders } of docs) {
      const seeded = await seedRiders(db, riders);
      summary.riders += seeded.created;
      summary.skipped += seeded.skipped;
      for (const w of data.warehouses ?? []) if (await kept(() => wms.createWarehouse(w))) summary.warehouses++;
      for (const l of data.locations ?? []) {
        const [zone, aisle, bin] = l.path.split('/') as [string, string, string];
        if (await kept(() => wms.createLocation({ warehouse: l.warehouse, zone, aisle, bin }))) summary.locations++;
      }
      for (const s of data.skus ?? []) if (await kept(() => wms.createSku(s))) summary.skus++;
      const byWarehouse = new Map<string, NonNullable<SeedFile['stock']>>();
      for (const s of data.stock ?? []) {
        const wh = s.location.split(':')[0]!;
        byWarehouse.set(wh, [...(byWarehouse.get(wh) ?? []), s]);
      }
      for (const [wh, lines] of byWarehouse) {
        if (await wms.hasReceipt(wh, 'seed')) {
          summary.skipped += lines.length;
          continue;
        }
        const rcp = await wms.createReceipt({ warehouse: wh, reference: 'seed', lines: lines.map((l) => ({ sku: l.sku, qty: l.qty, ...(l.lot ? { lot: l.lot } : {}), ...(l.expiresAt ? { expiresAt: new Date(Date.parse(l.expiresAt)).toISOString() } : {}), ...(l.serials ? { serials: l.serials } : {}) })) });
        await wms.putaway(rcp.id, { lines: lines.map((l, i) => ({ line: i, location: l.location })) }, ACTOR);
        summary.stockLines += lines.length;
      }
    }
    return summary;
  } finally {
    await database.close();
  }
}
