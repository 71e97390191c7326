import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { address, seedBasics, startFulfillment, type FulfillmentHarness } from '../testing/fulfillment-harness.js';

let h: FulfillmentHarness;
let admin: string;
let service: string;

/** WH1 holds 3 LAMPs (and 100 SOCKs), WH2 holds 100 LAMPs: an order of 5 LAMPs + 1 SOCK ships from both. */
beforeAll(async () => {
  h = await startFulfillment();
  admin = await h.token('admin', 'admin');
  service = await h.token('shop-backend', 'service');
  await seedBasics(h, admin, [{ sku: 'LAMP', qty: 3 }, { sku: 'SOCK', qty: 100 }]);
  const ok = (r: { status: number; body: unknown }) => { if (r.status >= 300) throw new Error(`${r.status} ${JSON.stringify(r.body)}`); return r; };
  ok(await h.call('POST', '/wms/warehouses', { token: admin, body: { code: 'WH2', name: 'North' } }));
  ok(await h.call('POST', '/wms/locations', { token: admin, body: { warehouse: 'WH2', zone: 'B', aisle: '01', bin: '01' } }));
  const rcp = ok(await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH2', lines: [{ sku: 'LAMP', qty: 100 }] } }));
  ok(await h.call('POST', `/wms/receipts/${rcp.body.id}/putaway`, { token: admin, body: { lines: [{ line: 0, location: 'WH2:B/01/01' }] } }));
});
afterAll(async () => h?.close());

const stock = async (sku: string, warehouse: string) => (await h.call('GET', `/wms/stock?sku=${sku}&warehouse=${warehouse}`, { token: admin })).body;

async function packedOrder(): Promise<{ id: string; shipments: { id: string; warehouse: string; kind: string; status: string }[] }> {
  const o = await h.call('POST', '/orders', { token: service, body: { customer: 'c1', address, lines: [{ sku: 'LAMP', qty: 5, unitPrice: 3000 }, { sku: 'SOCK', qty: 1, unitPrice: 500 }] } });
  expect(o.status).toBe(201);
  for (const event of ['pay', 'allocate', 'start_picking', 'pack']) expect((await h.call('POST', `/orders/${o.body.id}/events`, { token: service, body: { event } })).status).toBe(200);
  return o.body;
}

describe('shipments', () => {
  it('an order split over two warehouses ships one shipment at a time; the order is shipped when the last one leaves', async () => {
    const o = await packedOrder();
    expect(o.shipments.map((s) => [s.warehouse, s.kind, s.status]).sort()).toEqual([['WH1', 'original', 'pending'], ['WH2', 'original', 'pending']]);
    const wh1 = o.shipments.find((s) => s.warehouse === 'WH1')!;
    const wh2 = o.shipments.find((s) => s.warehouse === 'WH2')!;
    const before2 = await stock('LAMP', 'WH2');

    const first = await h.call('POST', `/orders/${o.id}/shipments/${wh1.id}/ship`, { token: service, body: { carrier: 'DHL', trackingNumber: 'JD1' } });
    expect(first.status).toBe(200);
    expect(first.body.status).toBe('packed'); // WH2 has not shipped yet
    expect(first.body.shipments.find((s: { id: string }) => s.id === wh1.id)).toMatchObject({ status: 'shipped', carrier: 'DHL', trackingNumber: 'JD1' });
    expect(first.body.shipments.find((s: { id: string }) => s.id === wh2.id)).toMatchObject({ status: 'pending', carrier: null });
    // WH1's stock left (3 lamps + the sock), WH2's is still only reserved
    expect(first.body.allocations.filter((a: { warehouse: string }) => a.warehouse === 'WH1').map((a: { status: string }) => a.status)).toEqual(['shipped', 'shipped']);
    expect(await stock('LAMP', 'WH2')).toMatchObject({ onHand: before2.onHand, reserved: before2.reserved });
    // the same shipment cannot ship twice
    const again = await h.call('POST', `/orders/${o.id}/shipments/${wh1.id}/ship`, { token: service, body: { carrier: 'DHL', trackingNumber: 'JD1' } });
    expect([again.status, again.body.type]).toEqual([409, 'INFRA_ERR_CONFLICT']);
    // nor may the order be sent again while WH2's shipment still waits (its held stock would ship with the reship)
    const lost = await h.call('POST', '/exceptions', { token: admin, body: { type: 'parcel_lost', entity: { type: 'order', id: o.id } } });
    const early = await h.call('POST', `/exceptions/${lost.body.id}/resolve`, { token: admin, body: { action: 'reship' } });
    expect([early.status, early.body.type]).toEqual([409, 'INFRA_ERR_CONFLICT']);
    expect((await h.call('GET', `/orders/${o.id}`, { token: service })).body.shipments).toHaveLength(2);

    const last = await h.call('POST', `/orders/${o.id}/shipments/${wh2.id}/ship`, { token: service, body: { carrier: 'UPS', trackingNumber: '1Z2' } });
    expect(last.body.status).toBe('shipped');
    expect(last.body.history.at(-1)).toMatchObject({ from: 'packed', to: 'shipped', event: 'ship' });
    expect(await stock('LAMP', 'WH2')).toMatchObject({ onHand: before2.onHand - 2, reserved: before2.reserved - 2 });
    expect(last.body.shipments.map((s: { carrier: string }) => s.carrier).sort()).toEqual(['DHL', 'UPS']); // not overwritten by the order's own ship

    // delivered one by one: the order is delivered when both have arrived
    const d1 = await h.call('POST', `/orders/${o.id}/shipments/${wh1.id}/deliver`, { token: service });
    expect(d1.body.status).toBe('shipped');
    const d2 = await h.call('POST', `/orders/${o.id}/shipments/${wh2.id}/deliver`, { token: service });
    expect(d2.body.status).toBe('delivered');
    expect(d2.body.shipments.map((s: { status: string }) => s.status)).toEqual(['delivered', 'delivered']);
  });

  it('a shipment cannot ship before the order may ship, nor one of another order; customers cannot ship', async () => {
    const o = await h.call('POST', '/orders', { token: service, body: { customer: 'c2', address, lines: [{ sku: 'SOCK', qty: 1, unitPrice: 500 }] } });
    const sid = o.body.shipments[0].id;
    const early = await h.call('POST', `/orders/${o.body.id}/shipments/${sid}/ship`, { token: service, body: { carrier: 'DHL', trackingNumber: 'X' } });
    expect([early.status, early.body.type]).toEqual([409, 'INFRA_ERR_ILLEGAL_TRANSITION']);
    expect(early.body.allowed).toEqual(expect.arrayContaining(['pay', 'cancel']));
    const other = await packedOrder();
    expect((await h.call('POST', `/orders/${other.id}/shipments/${sid}/ship`, { token: service, body: { carrier: 'DHL', trackingNumber: 'X' } })).status).toBe(404);
    const customer = await h.token('c1', 'user');
    expect((await h.call('POST', `/orders/${other.id}/shipments/${other.shipments[0]!.id}/ship`, { token: customer, body: { carrier: 'DHL', trackingNumber: 'X' } })).status).toBe(403);
    expect((await h.call('POST', `/orders/${other.id}/shipments/${other.shipments[0]!.id}/ship`, { token: service, body: { carrier: 'DHL' } })).status).toBe(400);
    const unchanged = await h.call('GET', `/orders/${o.body.id}`, { token: service });
    expect(unchanged.body.shipments[0].status).toBe('pending');
  });

  it('reship: resolving an exception with reship reserves the lines again as a reship shipment, which ships on its own', async () => {
    const fresh = await h.call('POST', '/orders', { token: service, body: { customer: 'c3', address, lines: [{ sku: 'SOCK', qty: 2, unitPrice: 500 }] } });
    const notYet = await h.call('POST', '/exceptions', { token: admin, body: { type: 'parcel_lost', entity: { type: 'order', id: fresh.body.id } } });
    const refused = await h.call('POST', `/exceptions/${notYet.body.id}/resolve`, { token: admin, body: { action: 'reship' } });
    expect([refused.status, refused.body.type]).toEqual([409, 'INFRA_ERR_CONFLICT']); // nothing has shipped yet
    expect((await h.call('GET', `/exceptions/${notYet.body.id}`, { token: admin })).body.status).not.toBe('resolved');

    const o = await h.call('POST', '/orders', { token: service, body: { customer: 'c3', address, lines: [{ sku: 'SOCK', qty: 2, unitPrice: 500 }] } });
    for (const event of ['pay', 'allocate', 'start_picking', 'pack']) await h.call('POST', `/orders/${o.body.id}/events`, { token: service, body: { event } });
    await h.call('POST', `/orders/${o.body.id}/shipments/${o.body.shipments[0].id}/ship`, { token: service, body: { carrier: 'DHL', trackingNumber: 'LOST1' } });
    const socks = await stock('SOCK', 'WH1');

    const exc = await h.call('POST', '/exceptions', { token: admin, body: { type: 'parcel_lost', entity: { type: 'order', id: o.body.id } } });
    expect(exc.body.actions).toContain('reship');
    const resolved = await h.call('POST', `/exceptions/${exc.body.id}/resolve`, { token: admin, body: { action: 'reship', note: 'carrier lost it' } });
    expect([resolved.status, resolved.body.status]).toEqual([200, 'resolved']);

    const after = (await h.call('GET', `/orders/${o.body.id}`, { token: service })).body;
    expect(after.status).toBe('shipped');
    const re = after.shipments.find((s: { kind: string }) => s.kind === 'reship');
    expect(re).toMatchObject({ warehouse: 'WH1', status: 'pending' });
    expect(await stock('SOCK', 'WH1')).toMatchObject({ onHand: socks.onHand, reserved: socks.reserved + 2 });

    const shipped = await h.call('POST', `/orders/${o.body.id}/shipments/${re.id}/ship`, { token: service, body: { carrier: 'DHL', trackingNumber: 'AGAIN1' } });
    expect(shipped.status).toBe(200);
    expect(shipped.body.status).toBe('shipped');
    expect(shipped.body.shipments.map((s: { kind: string; status: string; trackingNumber: string }) => [s.kind, s.status, s.trackingNumber]).sort())
      .toEqual([['original', 'shipped', 'LOST1'], ['reship', 'shipped', 'AGAIN1']]);
    expect(await stock('SOCK', 'WH1')).toMatchObject({ onHand: socks.onHand - 2, reserved: socks.reserved });
    const trace = (await h.call('GET', '/wms/trace?sku=SOCK', { token: admin })).body.movements.filter((m: { document: { id: string } | null }) => m.document?.id === o.body.id);
    expect(trace.map((m: { kind: string; qty: number }) => [m.kind, m.qty])).toEqual([['ship', -2], ['ship', -2]]);
  });
});
