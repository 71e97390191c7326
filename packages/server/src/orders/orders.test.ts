import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, seedBasics, startFulfillment, type FulfillmentHarness } from '../testing/fulfillment-harness.js';

let h: FulfillmentHarness;
let admin: string;
let service: string;

beforeAll(async () => {
  h = await startFulfillment();
  admin = await h.token('admin', 'admin');
  service = await h.token('shop-backend', 'service');
  await seedBasics(h, admin, [{ sku: 'TSHIRT', qty: 100 }, { sku: 'MUG', qty: 100 }]);
});
afterAll(async () => h?.close());

const body = (customer: string, qty = 1) => ({ customer, address, lines: [{ sku: 'TSHIRT', qty, unitPrice: 1999 }, { sku: 'MUG', qty: 2, unitPrice: 899 }] });

describe('orders', () => {
  it('creates with server-side totals, reserves stock and returns lines, allocations and history', async () => {
    const r = await h.call('POST', '/orders', { token: service, body: body('c1', 3) });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ customer: 'c1', status: 'pending_payment', currency: 'EUR', subtotal: 3 * 1999 + 2 * 899, total: 3 * 1999 + 2 * 899 });
    expect(r.body.lines).toEqual([{ sku: 'TSHIRT', qty: 3, unitPrice: 1999, lineTotal: 5997 }, { sku: 'MUG', qty: 2, unitPrice: 899, lineTotal: 1798 }]);
    expect(r.body.allocations).toEqual([
      { sku: 'TSHIRT', warehouse: 'WH1', location: 'WH1:A/01/01', lot: '', qty: 3, status: 'held' },
      { sku: 'MUG', warehouse: 'WH1', location: 'WH1:A/01/01', lot: '', qty: 2, status: 'held' },
    ]);
    expect(r.body.shipments).toHaveLength(1);
    const got = await h.call('GET', `/orders/${r.body.id}`, { token: service });
    expect(got.body).toEqual(r.body);
    const stock = await h.call('GET', '/wms/stock?sku=TSHIRT', { token: admin });
    expect(stock.body).toMatchObject({ onHand: 100, reserved: 3, available: 97 });
  });

  it('Idempotency-Key: same key and body returns the first result, a different body is 422, nothing written twice', async () => {
    const headers = { 'idempotency-key': 'k-1' };
    const a = await h.call('POST', '/orders', { token: service, body: body('c2'), headers });
    const b = await h.call('POST', '/orders', { token: service, body: body('c2'), headers });
    expect(a.status).toBe(201);
    expect(b.status).toBe(201);
    expect(b.body).toEqual(a.body);
    expect(b.headers.get('idempotent-replayed')).toBe('true');
    const c = await h.call('POST', '/orders', { token: service, body: body('c2', 2), headers });
    expect(c.status).toBe(422);
    expect(c.body.type).toBe('INFRA_ERR_IDEMPOTENCY_MISMATCH');
    const list = await h.call('GET', '/orders?customer=c2', { token: service });
    expect(list.body.items).toHaveLength(1);
    // concurrent retries with one key still make one order
    const many = await Promise.all(Array.from({ length: 10 }, () => h.call('POST', '/orders', { token: service, body: body('c3'), headers: { 'idempotency-key': 'k-2' } })));
    expect(new Set(many.map((m) => m.body.id)).size).toBe(1);
  });

  it('a customer creates and sees only their own orders; another customer gets 404', async () => {
    const u1 = await h.token('alice', 'user');
    const u2 = await h.token('bob', 'user');
    const mine = await h.call('POST', '/orders', { token: u1, body: { address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } });
    expect(mine.status).toBe(201);
    expect(mine.body.customer).toBe('alice');
    expect((await h.call('POST', '/orders', { token: u1, body: { customer: 'bob', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } })).status).toBe(403);
    expect((await h.call('GET', `/orders/${mine.body.id}`, { token: u2 })).status).toBe(404);
    expect((await h.call('POST', `/orders/${mine.body.id}/events`, { token: u2, body: { event: 'cancel' } })).status).toBe(404);
    const list = await h.call('GET', '/orders?customer=c1', { token: u1 });
    expect(list.body.items.map((o: { customer: string }) => o.customer)).toEqual(['alice']);
    const rider = await h.token('r1', 'rider');
    expect((await h.call('POST', '/orders', { token: rider, body: { customer: 'x', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 1 }] } })).status).toBe(403);
  });

  it('lists with filters and cursor pagination', async () => {
    for (let i = 0; i < 5; i++) await h.call('POST', '/orders', { token: service, body: body('pager') });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { items: { id: string }[]; nextCursor: string | null } } = await h.call('GET', `/orders?customer=pager&limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: service });
      seen.push(...page.body.items.map((o) => o.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect([...seen].sort().reverse()).toEqual(seen);
    const byStatus = await h.call('GET', '/orders?status=cancelled', { token: service });
    expect(byStatus.body.items).toEqual([]);
  });

  it('pay, pick, pack, ship with tracking, deliver: stock leaves with a ledger row; cancel releases stock', async () => {
    const o = (await h.call('POST', '/orders', { token: service, body: { customer: 'c9', address, lines: [{ sku: 'TSHIRT', qty: 4, unitPrice: 1999 }] } })).body;
    const before = (await h.call('GET', '/wms/stock?sku=TSHIRT', { token: admin })).body;
    for (const event of ['pay', 'allocate', 'start_picking', 'pack']) expect((await h.call('POST', `/orders/${o.id}/events`, { token: service, body: { event } })).status).toBe(200);
    const shipped = await h.call('POST', `/orders/${o.id}/events`, { token: service, body: { event: 'ship', shipping: { carrier: 'DHL', trackingNumber: 'JD0001' } } });
    expect(shipped.body.shipments[0]).toMatchObject({ status: 'shipped', carrier: 'DHL', trackingNumber: 'JD0001' });
    expect(shipped.body.allocations[0].status).toBe('shipped');
    const after = (await h.call('GET', '/wms/stock?sku=TSHIRT', { token: admin })).body;
    expect(after.onHand).toBe(before.onHand - 4);
    expect(after.reserved).toBe(before.reserved - 4);
    const trace = await h.call('GET', '/wms/trace?sku=TSHIRT', { token: admin });
    expect(trace.body.movements.at(-1)).toMatchObject({ kind: 'ship', qty: -4, document: { type: 'order', id: o.id } });
    const delivered = await h.call('POST', `/orders/${o.id}/events`, { token: await h.token('r1', 'rider'), body: { event: 'deliver' } });
    expect(delivered.body.status).toBe('delivered');
    expect(delivered.body.history.map((x: { to: string }) => x.to)).toEqual(['pending_payment', 'paid', 'allocated', 'picking', 'packed', 'shipped', 'delivered']);

    const c = (await h.call('POST', '/orders', { token: service, body: { customer: 'c9', address, lines: [{ sku: 'MUG', qty: 5, unitPrice: 899 }] } })).body;
    const mid = (await h.call('GET', '/wms/stock?sku=MUG', { token: admin })).body;
    const cancelled = await h.call('POST', `/orders/${c.id}/events`, { token: await h.token('c9', 'user'), body: { event: 'cancel', reason: 'changed my mind' } });
    expect(cancelled.body.status).toBe('cancelled');
    const end = (await h.call('GET', '/wms/stock?sku=MUG', { token: admin })).body;
    expect(end.available).toBe(mid.available + 5);
    expect(end.onHand).toBe(mid.onHand);
  });

  it('bad input is a clear 4xx and writes nothing', async () => {
    const count = async () => (await h.call('GET', '/orders?customer=bad&limit=200', { token: service })).body.items.length;
    const cases: [unknown, number, string][] = [
      ['{not json', 400, 'INFRA_ERR_MALFORMED_JSON'],
      [{ ...body('bad'), extra: 1 }, 400, 'INFRA_ERR_VALIDATION'],
      [{ customer: 'bad', address, lines: [{ sku: 'MUG', qty: 0, unitPrice: 1 }] }, 400, 'INFRA_ERR_VALIDATION'],
      [{ customer: 'bad', address, lines: [{ sku: 'MUG', qty: -2, unitPrice: 1 }] }, 400, 'INFRA_ERR_VALIDATION'],
      [{ customer: 'bad', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: '9' }] }, 400, 'INFRA_ERR_VALIDATION'],
      [{ customer: 'bad', address, lines: [] }, 400, 'INFRA_ERR_VALIDATION'],
      [{ address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 1 }] }, 400, 'INFRA_ERR_VALIDATION'],
      [{ customer: 'bad', address, lines: [{ sku: 'NOPE', qty: 1, unitPrice: 1 }] }, 400, 'INFRA_ERR_UNKNOWN_SKU'],
      [{ customer: 'bad', address, lines: [{ sku: 'MUG', qty: 10_000, unitPrice: 1 }] }, 409, 'INFRA_ERR_OUT_OF_STOCK'],
    ];
    for (const [b, status, type] of cases) {
      const r = await h.call('POST', '/orders', { token: service, body: b });
      expect([r.status, r.body.type]).toEqual([status, type]);
    }
    expect(await count()).toBe(0);
    expect((await h.call('POST', '/orders/ord_nope/events', { token: service, body: { event: 'pay' } })).status).toBe(404);
  });
});

describe('rate limit', () => {
  it('limits each token separately with 429 INFRA_ERR_RATE_LIMITED and Retry-After', async () => {
    const rl = await startFulfillment({ yaml: 'version: 1\nhttp:\n  port: 0\nfulfillment:\n  rateLimit: 5\n' });
    try {
      const a = await rl.token('a', 'user');
      const b = await rl.token('b', 'user');
      const statuses = [];
      for (let i = 0; i < 7; i++) statuses.push((await rl.call('GET', '/orders', { token: a })).status);
      expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
      const limited = await rl.call('GET', '/orders', { token: a });
      expect(limited.body.type).toBe('INFRA_ERR_RATE_LIMITED');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await rl.call('GET', '/orders', { token: b })).status).toBe(200);
    } finally {
      await rl.close();
    }
  });
});

describe('modules in infra.yaml', () => {
  it('serves only the listed domain APIs: unlisted ones are 404, listed ones work (orders still reserve through the WMS)', async () => {
    const m = await startFulfillment({ yaml: 'version: 1\nmodules: [orders, wms]\nhttp:\n  port: 0\nfulfillment:\n  rateLimit: 100000\n' });
    try {
      const a = await m.token('admin', 'admin');
      await seedBasics(m, a, [{ sku: 'MUG', qty: 5 }]);
      expect((await m.call('POST', '/orders', { token: a, body: { customer: 'c', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } })).status).toBe(201);
      for (const path of ['/exceptions', '/riders', '/dispatch/jobs/job_x', '/delivery']) {
        const r = await m.call('GET', path, { token: a });
        expect([r.status, r.body.type], path).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
      }
    } finally {
      await m.close();
    }
  });
});
