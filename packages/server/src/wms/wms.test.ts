import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, seedBasics, startFulfillment, type FulfillmentHarness } from '../testing/fulfillment-harness.js';

let h: FulfillmentHarness;
let admin: string;

beforeAll(async () => {
  h = await startFulfillment();
  admin = await h.token('admin', 'admin');
  await seedBasics(h, admin, [
    { sku: 'HOT', qty: 50 },
    { sku: 'COFFEE', qty: 0, lotTracked: true, lots: [{ lot: 'L-LATE', qty: 5, expiresAt: '2027-06-01T00:00:00.000Z' }, { lot: 'L-SOON', qty: 5, expiresAt: '2027-01-01T00:00:00.000Z' }] },
    { sku: 'W1', qty: 40 }, { sku: 'W2', qty: 40 },
  ]);
});
afterAll(async () => h?.close());

/** Every (sku, location, lot): on-hand equals the sum of its ledger rows. */
async function assertLedgerBalances(): Promise<void> {
  const skus = (await h.call('GET', '/wms/skus', { token: admin })).body.items as { sku: string }[];
  for (const { sku } of skus) {
    const stock = (await h.call('GET', `/wms/stock?sku=${sku}`, { token: admin })).body;
    const trace = (await h.call('GET', `/wms/trace?sku=${sku}`, { token: admin })).body.movements as { location: string; lot: string; qty: number }[];
    const ledger = new Map<string, number>();
    for (const m of trace) ledger.set(`${m.location}|${m.lot}`, (ledger.get(`${m.location}|${m.lot}`) ?? 0) + m.qty);
    for (const row of stock.byLocation as { location: string; lot: string; onHand: number; reserved: number; available: number }[]) {
      expect(row.onHand, `${sku} ${row.location} ${row.lot}`).toBe(ledger.get(`${row.location}|${row.lot}`) ?? 0);
      expect(row.available).toBe(row.onHand - row.reserved);
      ledger.delete(`${row.location}|${row.lot}`);
    }
    for (const [k, v] of ledger) expect(v, `ledger ${sku} ${k} without stock row`).toBe(0);
  }
}

describe('wms', () => {
  it('no oversell: 500 concurrent orders against 50 units, exactly 50 succeed, the rest 409 INFRA_ERR_OUT_OF_STOCK, the ledger balances', async () => {
    const service = await h.token('shop', 'service');
    const results = await Promise.all(Array.from({ length: 500 }, (_, i) => fetch(`${h.base}/api/v1/orders`, {
      method: 'POST',
      headers: { authorization: `Bearer ${service}`, 'content-type': 'application/json' },
      body: JSON.stringify({ customer: `c${i}`, address, lines: [{ sku: 'HOT', qty: 1, unitPrice: 100 }] }),
    }).then(async (r) => ({ status: r.status, type: r.status === 201 ? 'ok' : ((await r.json()) as { type: string }).type }))));
    const ok = results.filter((r) => r.status === 201).length;
    expect(ok).toBe(50);
    expect(results.filter((r) => r.status === 409 && r.type === 'INFRA_ERR_OUT_OF_STOCK').length).toBe(450);
    const stock = (await h.call('GET', '/wms/stock?sku=HOT', { token: admin })).body;
    expect(stock).toMatchObject({ onHand: 50, reserved: 50, available: 0 });
    const exc = await h.call('GET', '/exceptions?type=allocation_failed&entity=HOT', { token: admin });
    expect(exc.body.items).toHaveLength(1);
    expect(exc.body.items[0].occurrences).toBe(450);
    await assertLedgerBalances();
  });

  it('FEFO: a lot-tracked SKU allocates the earliest expiry first; trace by lot shows its history', async () => {
    const r = await h.call('POST', '/orders', { token: admin, body: { customer: 'c', address, lines: [{ sku: 'COFFEE', qty: 7, unitPrice: 2450 }] } });
    expect(r.status).toBe(201);
    expect(r.body.allocations.map((a: { lot: string; qty: number }) => [a.lot, a.qty])).toEqual([['L-SOON', 5], ['L-LATE', 2]]);
    const stock = (await h.call('GET', '/wms/stock?sku=COFFEE', { token: admin })).body;
    expect(stock.byLot).toEqual(expect.arrayContaining([{ lot: 'L-SOON', onHand: 5, reserved: 5, available: 0 }, { lot: 'L-LATE', onHand: 5, reserved: 2, available: 3 }]));
    const trace = (await h.call('GET', '/wms/trace?lot=L-SOON', { token: admin })).body.movements;
    expect(trace).toEqual([expect.objectContaining({ sku: 'COFFEE', kind: 'receipt', qty: 5, location: 'WH1:A/01/01', document: expect.objectContaining({ type: 'receipt' }) })]);
    const noLot = await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH1', lines: [{ sku: 'COFFEE', qty: 1 }] } });
    expect([noLot.status, noLot.body.type]).toEqual([400, 'INFRA_ERR_VALIDATION']);
  });

  it('serial-tracked receipts write one ledger row per serial; putaway rule picks the bin that holds the SKU; trace by serial', async () => {
    expect((await h.call('POST', '/wms/skus', { token: admin, body: { sku: 'PHONE', name: 'Phone', serialTracked: true } })).status).toBe(201);
    const rcp = await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH1', reference: 'ASN-7', lines: [{ sku: 'PHONE', qty: 2, serials: ['SN1', 'SN2'] }] } });
    expect(rcp.status).toBe(201);
    const put = await h.call('POST', `/wms/receipts/${rcp.body.id}/putaway`, { token: admin, body: { lines: [{ line: 0, location: 'WH1:A/01/02' }] } });
    expect(put.body.status).toBe('put_away');
    expect((await h.call('POST', `/wms/receipts/${rcp.body.id}/putaway`, { token: admin, body: {} })).status).toBe(409);
    const t = (await h.call('GET', '/wms/trace?serial=SN2', { token: admin })).body.movements;
    expect(t).toEqual([expect.objectContaining({ sku: 'PHONE', serial: 'SN2', qty: 1, location: 'WH1:A/01/02', reason: 'ASN-7' })]);
    const more = await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH1', lines: [{ sku: 'PHONE', qty: 1, serials: ['SN3'] }] } });
    const put2 = await h.call('POST', `/wms/receipts/${more.body.id}/putaway`, { token: admin, body: {} });
    expect(put2.body.lines[0].location).toBe('WH1:A/01/02');
    const bad = await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH1', lines: [{ sku: 'PHONE', qty: 2, serials: ['X'] }] } });
    expect(bad.status).toBe(400);
  });

  it('cycle count variance adjusts stock with a ledger row and raises stock_discrepancy', async () => {
    const r = await h.call('POST', '/wms/counts', { token: admin, body: { sku: 'W1', location: 'WH1:A/01/01', counted: 37 } });
    expect(r.body).toMatchObject({ expected: 40, counted: 37, variance: -3 });
    expect(r.body.exception).toMatch(/^exc_/);
    const e = await h.call('GET', `/exceptions/${r.body.exception}`, { token: admin });
    expect(e.body).toMatchObject({ type: 'stock_discrepancy', status: 'open' });
    expect((await h.call('POST', '/wms/adjustments', { token: admin, body: { sku: 'W1', location: 'WH1:A/01/01', qty: 3, reason: 'found behind shelf' } })).status).toBe(200);
    expect((await h.call('POST', '/wms/adjustments', { token: admin, body: { sku: 'W1', location: 'WH1:A/01/01', qty: -1000, reason: 'x' } })).body.type).toBe('INFRA_ERR_OUT_OF_STOCK');
  });

  it('staff only: a user token gets 403 on WMS routes', async () => {
    const user = await h.token('u', 'user');
    expect((await h.call('GET', '/wms/stock?sku=W1', { token: user })).status).toBe(403);
    expect((await h.call('POST', '/wms/adjustments', { token: user, body: { sku: 'W1', location: 'WH1:A/01/01', qty: 1, reason: 'x' } })).status).toBe(403);
  });

  it('on-hand equals the ledger sum after a random workload (orders, cancels, ships, moves, adjustments, counts)', async () => {
    let seed = 42;
    const rnd = (n: number) => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
    const skus = ['W1', 'W2'];
    const bins = ['WH1:A/01/01', 'WH1:A/01/02'];
    const open: string[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 150; i++) {
      const sku = skus[rnd(2)]!;
      const op = rnd(6);
      let r: { status: number; body: { id?: string } };
      if (op === 0 || op === 1) {
        r = await h.call('POST', '/orders', { token: admin, body: { customer: 'rw', address, lines: [{ sku, qty: 1 + rnd(5), unitPrice: 100 }] } });
        if (r.status === 201) open.push(r.body.id!);
      } else if (op === 2 && open.length) {
        const id = open.splice(rnd(open.length), 1)[0]!;
        if (rnd(2)) r = await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event: 'cancel' } });
        else {
          for (const event of ['pay', 'allocate', 'start_picking', 'pack']) await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event } });
          r = await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event: 'ship' } });
        }
      } else if (op === 3) {
        const from = rnd(2);
        r = await h.call('POST', '/wms/moves', { token: admin, body: { sku, from: bins[from], to: bins[1 - from], qty: 1 + rnd(4) } });
      } else if (op === 4) {
        r = await h.call('POST', '/wms/adjustments', { token: admin, body: { sku, location: bins[rnd(2)], qty: rnd(2) ? 1 + rnd(5) : -(1 + rnd(5)), reason: 'random' } });
      } else {
        r = await h.call('POST', '/wms/counts', { token: admin, body: { sku, location: bins[rnd(2)], counted: rnd(30) } });
      }
      statuses.push(r!?.status ?? 0);
    }
    expect(statuses.every((s) => s === 0 || s === 200 || s === 201 || s === 409)).toBe(true);
    await assertLedgerBalances();
  });
});

describe('pick waves', () => {
  it('groups orders into a wave sorted by bin; a scan of sku + bin confirms a task, a wrong bin is 409', async () => {
    const o1 = (await h.call('POST', '/orders', { token: admin, body: { customer: 'w', address, lines: [{ sku: 'W2', qty: 2, unitPrice: 1 }] } })).body;
    const o2 = (await h.call('POST', '/orders', { token: admin, body: { customer: 'w', address, lines: [{ sku: 'W2', qty: 1, unitPrice: 1 }] } })).body;
    expect([o1.allocations.length, o2.allocations.length]).toEqual([1, 1]);
    const wave = await h.call('POST', '/wms/waves', { token: admin, body: { warehouse: 'WH1', orders: [o1.id, o2.id] } });
    expect(wave.status).toBe(201);
    expect(wave.body.tasks.map((t: { order: string; qty: number }) => [t.order, t.qty]).sort()).toEqual([[o1.id, 2], [o2.id, 1]].sort());
    expect((await h.call('POST', '/wms/waves', { token: admin, body: { warehouse: 'WH1', orders: [o1.id] } })).status).toBe(409);
    const bin = o1.allocations[0].location as string;
    const wrongBin = bin.endsWith('01') ? 'WH1:A/01/02' : 'WH1:A/01/01';
    expect((await h.call('POST', `/wms/waves/${wave.body.id}/scan`, { token: admin, body: { sku: 'W2', location: wrongBin } })).status).toBe(409);
    expect((await h.call('POST', `/wms/waves/${wave.body.id}/scan`, { token: admin, body: { sku: 'W1', location: bin } })).status).toBe(409);
    let w = await h.call('POST', `/wms/waves/${wave.body.id}/scan`, { token: admin, body: { sku: 'W2', location: o1.allocations[0].location } });
    expect(w.body.status).toBe('open');
    w = await h.call('POST', `/wms/waves/${wave.body.id}/scan`, { token: admin, body: { sku: 'W2', location: o2.allocations[0].location } });
    expect(w.body.status).toBe('picked');
    expect(w.body.tasks.every((t: { picked: number; qty: number; pickedBy: string }) => t.picked === t.qty && t.pickedBy === 'admin')).toBe(true);
  });

  it('serial-tracked SKUs are picked by scanning serials; they leave the ledger one serial at a time at ship', async () => {
    expect((await h.call('POST', '/wms/skus', { token: admin, body: { sku: 'TABLET', name: 'Tablet', serialTracked: true } })).status).toBe(201);
    const rcp = await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH1', lines: [{ sku: 'TABLET', qty: 3, serials: ['T1', 'T2', 'T3'] }] } });
    await h.call('POST', `/wms/receipts/${rcp.body.id}/putaway`, { token: admin, body: { lines: [{ line: 0, location: 'WH1:A/01/02' }] } });
    const o = (await h.call('POST', '/orders', { token: admin, body: { customer: 's', address, lines: [{ sku: 'TABLET', qty: 2, unitPrice: 30000 }] } })).body;
    for (const event of ['pay', 'allocate', 'start_picking', 'pack']) await h.call('POST', `/orders/${o.id}/events`, { token: admin, body: { event } });
    // shipping before the serials were scanned ships nothing
    const early = await h.call('POST', `/orders/${o.id}/events`, { token: admin, body: { event: 'ship' } });
    expect([early.status, early.body.type]).toEqual([409, 'INFRA_ERR_CONFLICT']);
    expect((await h.call('GET', `/orders/${o.id}`, { token: admin })).body.status).toBe('packed');

    const wave = (await h.call('POST', '/wms/waves', { token: admin, body: { warehouse: 'WH1', orders: [o.id] } })).body;
    const scan = (body: unknown) => h.call('POST', `/wms/waves/${wave.id}/scan`, { token: admin, body });
    const loc = 'WH1:A/01/02';
    for (const [body, status, type] of [
      [{ sku: 'TABLET', location: loc }, 400, 'INFRA_ERR_VALIDATION'], // no serial
      [{ sku: 'TABLET', location: loc, serials: ['T1', 'T1'] }, 400, 'INFRA_ERR_VALIDATION'], // twice
      [{ sku: 'TABLET', location: loc, serials: ['T1'], qty: 2 }, 400, 'INFRA_ERR_VALIDATION'], // count differs
      [{ sku: 'TABLET', location: loc, serials: ['NOPE'] }, 409, 'INFRA_ERR_CONFLICT'], // not on hand here
      [{ sku: 'W2', location: 'WH1:A/01/01', serials: ['T1'] }, 409, 'INFRA_ERR_CONFLICT'], // W2 is not in this wave
    ] as const) {
      const r = await scan(body);
      expect([r.status, r.body.type], JSON.stringify(body)).toEqual([status, type]);
    }
    expect((await scan({ sku: 'TABLET', location: loc, serials: ['T1'] })).body.tasks[0]).toMatchObject({ picked: 1, serials: ['T1'] });
    expect((await scan({ sku: 'TABLET', location: loc, serials: ['T1'] })).status).toBe(409); // already picked
    const done = await scan({ sku: 'TABLET', location: loc, serials: ['T3'] });
    expect(done.body).toMatchObject({ status: 'picked', tasks: [{ picked: 2, serials: ['T1', 'T3'] }] });

    expect((await h.call('POST', `/orders/${o.id}/events`, { token: admin, body: { event: 'ship' } })).body.status).toBe('shipped');
    const t1 = (await h.call('GET', '/wms/trace?serial=T1', { token: admin })).body.movements;
    expect(t1.map((m: { kind: string; qty: number; document: { id: string } }) => [m.kind, m.qty, m.document.id])).toEqual([['receipt', 1, rcp.body.id], ['ship', -1, o.id]]);
    expect((await h.call('GET', '/wms/trace?serial=T2', { token: admin })).body.movements.map((m: { kind: string }) => m.kind)).toEqual(['receipt']);
    expect((await h.call('GET', '/wms/stock?sku=TABLET', { token: admin })).body).toMatchObject({ onHand: 1, reserved: 0, available: 1 });
    await assertLedgerBalances();
  });
});

describe('lot expiry and quarantine', () => {
  it('never allocates an expired or quarantined lot; a released lot is allocatable again (FEFO)', async () => {
    expect((await h.call('POST', '/wms/skus', { token: admin, body: { sku: 'TEA', name: 'Tea', lotTracked: true } })).status).toBe(201);
    const rcp = await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH1', lines: [
      { sku: 'TEA', qty: 5, lot: 'OLD', expiresAt: '2020-01-01T00:00:00.000Z' },
      { sku: 'TEA', qty: 5, lot: 'HELD', expiresAt: '2030-01-01T00:00:00.000Z' },
      { sku: 'TEA', qty: 5, lot: 'GOOD', expiresAt: '2031-01-01T00:00:00.000Z' },
    ] } });
    expect((await h.call('POST', `/wms/receipts/${rcp.body.id}/putaway`, { token: admin, body: {} })).status).toBe(200);
    expect((await h.call('POST', '/wms/lots/quarantine', { token: admin, body: { sku: 'TEA', lot: 'HELD', quarantined: true, reason: 'lab check' } })).status).toBe(200);
    const order = (qty: number) => h.call('POST', '/orders', { token: admin, body: { customer: 'q', address, lines: [{ sku: 'TEA', qty, unitPrice: 1 }] } });
    const short = await order(6);
    expect([short.status, short.body.type]).toEqual([409, 'INFRA_ERR_OUT_OF_STOCK']);
    const ok = await order(2);
    expect(ok.body.allocations.map((a: { lot: string }) => a.lot)).toEqual(['GOOD']);
    expect((await h.call('POST', '/wms/lots/quarantine', { token: admin, body: { sku: 'TEA', lot: 'HELD', quarantined: false } })).status).toBe(200);
    const after = await order(2);
    expect(after.body.allocations.map((a: { lot: string }) => a.lot)).toEqual(['HELD']);
    expect((await h.call('POST', '/wms/lots/quarantine', { token: admin, body: { sku: 'TEA', lot: 'HELD', quarantined: false } })).status).toBe(404);
  });
});
