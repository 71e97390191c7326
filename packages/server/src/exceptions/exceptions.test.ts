import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, seedBasics, startFulfillment, type FulfillmentHarness } from '../testing/fulfillment-harness.js';

let h: FulfillmentHarness;
let admin: string;
beforeAll(async () => {
  h = await startFulfillment();
  admin = await h.token('ops-lead', 'admin');
  await seedBasics(h, admin, [{ sku: 'RARE', qty: 1 }]);
});
afterAll(async () => h?.close());

describe('exception center', () => {
  it('an allocation failure raises one exception per SKU, counted; it is assigned, commented and resolved', async () => {
    for (let i = 0; i < 3; i++) await h.call('POST', '/orders', { token: admin, body: { customer: 'c', address, lines: [{ sku: 'RARE', qty: 5, unitPrice: 1 }] } });
    const list = await h.call('GET', '/exceptions?status=open&type=allocation_failed', { token: admin });
    expect(list.body.items).toHaveLength(1);
    const e = list.body.items[0];
    expect(e).toMatchObject({ type: 'allocation_failed', severity: 'high', entity: { type: 'sku', id: 'RARE' }, status: 'open', occurrences: 3 });
    expect(e.ageSeconds).toBeGreaterThanOrEqual(0);
    const assigned = await h.call('POST', `/exceptions/${e.id}/assign`, { token: admin, body: { assignee: 'sam' } });
    expect(assigned.body).toMatchObject({ status: 'assigned', assignee: 'sam' });
    const commented = await h.call('POST', `/exceptions/${e.id}/comments`, { token: admin, body: { body: 'restock ordered' } });
    expect(commented.body.comments).toEqual([expect.objectContaining({ author: 'ops-lead', body: 'restock ordered' })]);
    // nothing carries out `retry` for a SKU: refused, listing what is possible, and the exception stays open
    expect(e.actions).toEqual(['none']);
    const unsupported = await h.call('POST', `/exceptions/${e.id}/resolve`, { token: admin, body: { action: 'retry', note: 'stock arrived' } });
    expect(unsupported.status).toBe(422);
    expect(unsupported.body).toMatchObject({ type: 'INFRA_ERR_ACTION_UNSUPPORTED', actions: ['none'] });
    expect((await h.call('GET', `/exceptions/${e.id}`, { token: admin })).body.status).toBe('assigned');
    const resolved = await h.call('POST', `/exceptions/${e.id}/resolve`, { token: admin, body: { action: 'none', note: 'stock arrived' } });
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: 'none', note: 'stock arrived' });
    expect((await h.call('POST', `/exceptions/${e.id}/resolve`, { token: admin, body: { action: 'none' } })).body.type).toBe('INFRA_ERR_CONFLICT');
    // a new failure after resolution opens a new exception
    await h.call('POST', '/orders', { token: admin, body: { customer: 'c', address, lines: [{ sku: 'RARE', qty: 5, unitPrice: 1 }] } });
    expect((await h.call('GET', '/exceptions?status=open&type=allocation_failed', { token: admin })).body.items).toHaveLength(1);
  });

  it('raised by hand; bad input and wrong roles are refused', async () => {
    const r = await h.call('POST', '/exceptions', { token: admin, body: { type: 'damaged_parcel', severity: 'low', entity: { type: 'order', id: 'ord_x' }, detail: 'box crushed' } });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({ type: 'damaged_parcel', severity: 'low', status: 'open' });
    expect((await h.call('POST', '/exceptions', { token: admin, body: { type: 'x', entity: { type: 'order', id: 'o' }, bogus: 1 } })).status).toBe(400);
    expect((await h.call('POST', `/exceptions/${r.body.id}/resolve`, { token: admin, body: { action: 'explode' } })).status).toBe(400);
    expect((await h.call('GET', '/exceptions', { token: await h.token('u', 'user') })).status).toBe(403);
    expect((await h.call('GET', '/exceptions/exc_nope', { token: admin })).status).toBe(404);
  });

  it('an order exception resolved with `refund` gives back what was captured, once; nothing captured is a 409 and stays open', async () => {
    const order = await h.call('POST', '/orders', { token: admin, body: { customer: 'c2', address, lines: [{ sku: 'RARE', qty: 1, unitPrice: 1999 }] } });
    expect(order.status).toBe(201);
    const id = order.body.id as string;
    const raise = async (): Promise<{ id: string; actions: string[] }> => (await h.call('POST', '/exceptions', { token: admin, body: { type: 'damaged_parcel', entity: { type: 'order', id } } })).body;
    const unpaid = await raise();
    expect(unpaid.actions).toEqual(['cancel', 'refund', 'reship', 'none']);
    const nothing = await h.call('POST', `/exceptions/${unpaid.id}/resolve`, { token: admin, body: { action: 'refund' } });
    expect(nothing.body.type).toBe('INFRA_ERR_CONFLICT');
    expect((await h.call('GET', `/exceptions/${unpaid.id}`, { token: admin })).body.status).toBe('open');

    expect((await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event: 'pay' } })).status).toBe(200);
    const refunded = await h.call('POST', `/exceptions/${unpaid.id}/resolve`, { token: admin, body: { action: 'refund', note: 'box crushed' } });
    expect(refunded.body).toMatchObject({ status: 'resolved', resolution: 'refund' });
    const after = (await h.call('GET', `/orders/${id}`, { token: admin })).body;
    expect(after.payments.map((p: { status: string; amount: number }) => [p.status, p.amount])).toEqual([['captured', 1999], ['refunded', 1999]]);
    // a second refund finds nothing left to give back
    const again = await raise();
    expect((await h.call('POST', `/exceptions/${again.id}/resolve`, { token: admin, body: { action: 'refund' } })).body.type).toBe('INFRA_ERR_CONFLICT');
  });
});
