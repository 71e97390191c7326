import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics } from '@infra/core';
import { inbox, offset, sleep, startFleetStack, until, type FleetStack } from '../../test/fleet-stack.js';

const START = { lat: 52.30, lng: 13.40 };
const yaml = `fleet:
  maxSpeedKmh: 2000
dispatch:
  strategy: nearest
  batchIntervalMs: 200
  arrivalRadiusM: 50
  searchRadiusM: 5000
  speedMps: 5
  detourFactor: 1
  pickupDwellS: 0
  etaRepublishS: 1
`;

let s: FleetStack;
let admin: string;

beforeAll(async () => {
  s = await startFleetStack({ yaml });
  admin = await s.token('admin', 'admin');
});
afterAll(async () => s?.close());

async function newRider(id: string): Promise<{ client: MqttClient; token: string; fix(p: { lat: number; lng: number }): Promise<void> }> {
  expect((await s.call('POST', '/riders', admin, { id, name: id, vehicle: 'scooter', capacity: 1 })).status).toBe(201);
  const client = await s.mqtt(id, 'rider');
  const token = await s.token(id, 'rider');
  return {
    client,
    token,
    fix: (p) => s.fix(client, id, p),
  };
}

const state = async (id: string) => (await s.call('GET', `/delivery/${id}`, admin)).body.status as string;

describe('delivery flow', () => {
  it('a full walk driven by published fixes: geofences at pickup and customer, proof by one-time code, tracking granted then revoked', async () => {
    const pickup = offset(START, 300, 0);
    const dropoff = offset(pickup, 600, 0);
    const w1 = await newRider('w1');
    await w1.fix(START);
    // the job waits (no rider on duty) while the customer subscribes to its events
    const job = await s.call('POST', '/dispatch/jobs', admin, { pickup, dropoff, customer: 'alice' });
    expect(job.body.status).toBe('pooled');
    const alice = await s.mqtt('alice', 'user');
    const box = inbox(alice);
    await alice.subscribeAsync(topics.order(job.body.orderId), { qos: 1 });
    expect((await s.call('POST', '/riders/w1/duty', w1.token, { onDuty: true })).status).toBe(200);
    await w1.fix(offset(START, 1, 0)); // a fresh fix after going on duty
    const assigned = await box.next((m) => m.data.type === 'delivery.assigned', 5000);
    expect(assigned.data).toMatchObject({ riderId: 'w1', status: 'assigned', tracking: 'fleet/w1/loc' });
    const deliveryId = assigned.data.deliveryId as string;
    const code = assigned.data.code as string;
    // the first ETA: 299 m to the pickup at the 5 m/s prior = 59.8 s; the drop-off 600 m further = 179.8 s
    const eta = await box.next((m) => m.data.type === 'delivery.eta' && m.data.deliveryId === assigned.data.deliveryId);
    const made = Date.parse(eta.data.at);
    expect(Date.parse(eta.data.pickupAt) - made).toBeGreaterThan(59_000);
    expect(Date.parse(eta.data.pickupAt) - made).toBeLessThan(60_500);
    expect(Date.parse(eta.data.dropoffAt) - made).toBeGreaterThan(179_000);
    expect(Date.parse(eta.data.dropoffAt) - made).toBeLessThan(180_500);
    expect(code).toMatch(/^[0-9]{6}$/);
    // the customer may now follow the rider, and reads the code on the delivery; the rider never sees it
    await alice.subscribeAsync(topics.fleetLocation('w1'), { qos: 0 });
    expect((await s.call('GET', `/delivery/${deliveryId}`, await s.token('alice', 'user'))).body.code).toBe(code);
    const asRider = await s.call('GET', `/delivery/${deliveryId}`, w1.token);
    expect(asRider.body.code).toBeUndefined();
    expect(asRider.body.allowedEvents).toEqual(['start', 'arrive_pickup']);
    expect((await s.call('GET', `/delivery/${deliveryId}`, await s.token('bob', 'user'))).status).toBe(404);

    expect((await s.call('POST', `/delivery/${deliveryId}/events`, w1.token, { event: 'start' })).body.status).toBe('heading_to_pickup');
    // drive to the pickup in 100 m steps: entering its 50 m fence moves the delivery to at_pickup
    for (const m of [100, 200, 300]) await w1.fix(offset(START, m, 0));
    await until(async () => (await state(deliveryId)) === 'at_pickup', 5000, 'at_pickup');
    expect((await s.call('POST', `/delivery/${deliveryId}/events`, w1.token, { event: 'pick_up' })).body.status).toBe('picked_up');
    // leaving the pickup fence: heading to the customer; entering the drop-off fence: at the customer
    await w1.fix(offset(pickup, 100, 0));
    await until(async () => (await state(deliveryId)) === 'heading_to_customer', 5000, 'heading_to_customer');
    for (const m of [200, 300, 400, 500, 600]) await w1.fix(offset(pickup, m, 0));
    await until(async () => (await state(deliveryId)) === 'at_customer', 5000, 'at_customer');
    expect(box.seen.some((m) => m.topic === topics.fleetLocation('w1'))).toBe(true);

    // proof: none, or a wrong code, is refused and changes nothing
    const none = await s.call('POST', `/delivery/${deliveryId}/events`, w1.token, { event: 'deliver' });
    expect(none.status).toBe(422);
    expect(none.body.type).toBe('INFRA_ERR_DELIVERY_PROOF');
    const wrong = await s.call('POST', `/delivery/${deliveryId}/events`, w1.token, { event: 'deliver', proof: { code: code === '000000' ? '000001' : '000000' } });
    expect(wrong.body.type).toBe('INFRA_ERR_DELIVERY_PROOF');
    expect(await state(deliveryId)).toBe('at_customer');
    const done = await s.call('POST', `/delivery/${deliveryId}/events`, w1.token, { event: 'deliver', proof: { code } });
    expect(done.status).toBe(200);
    expect(done.body).toMatchObject({ status: 'delivered', proof: { code: true, recipientName: null, photoFileId: null } });
    expect(done.body.finishedAt).not.toBeNull();
    expect(done.body.history.map((h: { event: string; actorRole: string }) => `${h.event}:${h.actorRole}`)).toEqual([
      'create:service', 'start:rider', 'arrive_pickup:service', 'pick_up:rider', 'depart_pickup:service', 'arrive_customer:service', 'deliver:rider',
    ]);

    // every status reached the customer in order on orders/{orderId}
    await box.next((m) => m.data.type === 'delivery.status' && m.data.to === 'delivered');
    expect(box.seen.filter((m) => m.data.type === 'delivery.status').map((m) => m.data.to)).toEqual(['heading_to_pickup', 'at_pickup', 'picked_up', 'heading_to_customer', 'at_customer', 'delivered']);
    // predicted vs actual: the first pickup prediction was about a minute late of the real (fast) walk
    const acc = await s.call('GET', '/delivery/eta-accuracy', admin);
    expect(acc.status).toBe(200);
    expect(acc.body.pickup.samples).toBeGreaterThanOrEqual(1);
    expect(acc.body.dropoff.samples).toBeGreaterThanOrEqual(1);
    expect(acc.body.samples).toBe(acc.body.pickup.samples + acc.body.dropoff.samples);
    expect(acc.body.pickup.p90Minutes).toBeGreaterThanOrEqual(acc.body.pickup.p50Minutes);
    expect(acc.body.pickup.p90Minutes).toBeGreaterThan(0.9);
    expect(acc.body.pickup.p90Minutes).toBeLessThan(1.1);
    expect((await s.call('GET', '/delivery/eta-accuracy', w1.token)).status).toBe(403);
    // the job is closed and the rider's capacity released
    expect((await s.call('GET', `/dispatch/jobs/${job.body.id}`, admin)).body.status).toBe('delivered');
    expect((await s.call('GET', '/riders/w1', admin)).body.load).toBe(0);
    // tracking revoked: the next fix no longer reaches the customer
    await sleep(200);
    const before = box.seen.filter((m) => m.topic === topics.fleetLocation('w1')).length;
    await w1.fix(offset(dropoff, 10, 0));
    await sleep(300);
    expect(box.seen.filter((m) => m.topic === topics.fleetLocation('w1')).length).toBe(before);
  });

  it('geofence arrivals and departures reach the delivery\'s customer on orders/{id} (a topic grant); another customer is refused the topic', async () => {
    const g1 = await newRider('g1');
    const base = offset(START, 6000, 6000);
    await g1.fix(base);
    const pickup = offset(base, 300, 0);
    const dropoff = offset(pickup, 400, 0);
    const job = await s.call('POST', '/dispatch/jobs', admin, { pickup, dropoff, customer: 'hana' });
    expect(job.body.status).toBe('pooled'); // g1 is off duty: the customer subscribes first
    const hana = await s.mqtt('hana', 'user');
    const box = inbox(hana);
    expect((await hana.subscribeAsync(topics.order(job.body.orderId), { qos: 1 }))[0]!.qos).toBe(1);
    const ivan = await s.mqtt('ivan', 'user');
    const stranger = inbox(ivan);
    // SUBACK failure (0x80): not their delivery (mqtt.js rejects with the SUBACK packet)
    const refused = await ivan.subscribeAsync(topics.order(job.body.orderId), { qos: 1 }).then((g) => g[0]!.qos, (err: { packet?: { granted?: number[] } }) => err.packet?.granted?.[0]);
    expect(refused).toBe(128);
    expect((await s.call('POST', '/riders/g1/duty', g1.token, { onDuty: true })).status).toBe(200);
    await g1.fix(offset(base, 1, 0));
    const assigned = await box.next((m) => m.data.type === 'delivery.assigned', 5000);
    const id = assigned.data.deliveryId as string;
    for (const m of [100, 200, 300]) await g1.fix(offset(base, m, 0));
    const arrival = await box.next((m) => m.data.type === 'delivery.geofence' && m.data.stop === 'pickup' && m.data.kind === 'arrival');
    expect(arrival.data).toMatchObject({ orderId: job.body.orderId, deliveryId: id, riderId: 'g1', radiusM: 50 });
    await until(async () => (await state(id)) === 'at_pickup', 5000, 'at_pickup');
    expect((await s.call('POST', `/delivery/${id}/events`, g1.token, { event: 'pick_up' })).status).toBe(200);
    await g1.fix(offset(pickup, 100, 0));
    await box.next((m) => m.data.type === 'delivery.geofence' && m.data.stop === 'pickup' && m.data.kind === 'departure');
    for (const m of [200, 300, 400]) await g1.fix(offset(pickup, m, 0));
    await box.next((m) => m.data.type === 'delivery.geofence' && m.data.stop === 'dropoff' && m.data.kind === 'arrival');
    await box.next((m) => m.data.type === 'delivery.status' && m.data.to === 'at_customer');
    // each crossing comes before the status it caused, in commit order
    const seq = box.seen.filter((m) => m.data.type === 'delivery.geofence' || m.data.type === 'delivery.status').map((m) => m.data.type === 'delivery.status' ? m.data.to : `${m.data.stop}:${m.data.kind}`);
    expect(seq).toEqual(['pickup:arrival', 'at_pickup', 'picked_up', 'pickup:departure', 'heading_to_customer', 'dropoff:arrival', 'at_customer']);
    expect(stranger.seen).toEqual([]);
  });

  it('failure paths end the delivery failed, raise an exception and release the rider; illegal and foreign events are refused', async () => {
    const f1 = await newRider('f1');
    expect((await s.call('POST', '/riders/f1/duty', f1.token, { onDuty: true })).status).toBe(200);
    const base = offset(START, 0, 3000);
    await f1.fix(base);
    const job = await s.call('POST', '/dispatch/jobs', admin, { pickup: offset(base, 100, 0), dropoff: offset(base, 900, 0), customer: 'carol', proof: 'name' });
    expect(job.body).toMatchObject({ status: 'assigned', riderId: 'f1' });
    const list = await s.call('GET', `/delivery?job=${job.body.id}`, admin);
    const id = list.body.items[0].id as string;
    const fire = (event: string, tok = f1.token, extra: Record<string, unknown> = {}) => s.call('POST', `/delivery/${id}/events`, tok, { event, ...extra });

    const illegal = await fire('deliver');
    expect(illegal.status).toBe(409);
    expect(illegal.body.type).toBe('INFRA_ERR_ILLEGAL_TRANSITION');
    expect(illegal.body.allowed).toEqual(['start', 'arrive_pickup']);
    expect((await fire('start', await s.token('w1', 'rider'))).status).toBe(404); // another rider
    expect((await fire('start', await s.token('carol', 'user'))).status).toBe(403); // customers do not move deliveries
    expect((await fire('teleport')).status).toBe(409);
    expect((await s.call('POST', `/delivery/${id}/events`, f1.token, { event: 'start', colour: 1 })).status).toBe(400);

    for (const e of ['start', 'arrive_pickup', 'pick_up', 'depart_pickup', 'arrive_customer']) expect((await fire(e)).status).toBe(200);
    const failed = await fire('customer_absent', f1.token, { reason: 'nobody answered the door' });
    expect(failed.body.status).toBe('failed');
    const exc = await s.call('GET', `/exceptions?entity=${id}`, admin);
    expect(exc.body.items).toHaveLength(1);
    expect(exc.body.items[0]).toMatchObject({ type: 'delivery_customer_absent', severity: 'high', entity: { type: 'delivery', id }, status: 'open' });
    expect((await s.call('GET', `/dispatch/jobs/${job.body.id}`, admin)).body.status).toBe('failed');
    expect((await s.call('GET', '/riders/f1', admin)).body.load).toBe(0);
    expect((await fire('deliver', f1.token, { proof: { recipientName: 'x' } })).status).toBe(409); // final

    // address_wrong from heading_to_customer; a 'name' job delivers on a recipient name
    const job2 = await s.call('POST', '/dispatch/jobs', admin, { pickup: offset(base, 100, 0), dropoff: offset(base, 900, 0), customer: 'carol', proof: 'name' });
    expect(job2.body.riderId).toBe('f1');
    const id2 = (await s.call('GET', `/delivery?job=${job2.body.id}`, admin)).body.items[0].id as string;
    for (const e of ['start', 'arrive_pickup', 'pick_up', 'depart_pickup']) expect((await s.call('POST', `/delivery/${id2}/events`, f1.token, { event: e })).status).toBe(200);
    expect((await s.call('POST', `/delivery/${id2}/events`, f1.token, { event: 'address_wrong', reason: 'no such house number' })).body.status).toBe('failed');
    expect((await s.call('GET', `/exceptions?entity=${id2}`, admin)).body.items[0]).toMatchObject({ type: 'delivery_address_wrong' });

    const job3 = await s.call('POST', '/dispatch/jobs', admin, { pickup: offset(base, 100, 0), dropoff: offset(base, 900, 0), customer: 'carol', proof: 'name' });
    const id3 = (await s.call('GET', `/delivery?job=${job3.body.id}`, admin)).body.items[0].id as string;
    for (const e of ['start', 'arrive_pickup', 'pick_up', 'depart_pickup', 'arrive_customer']) await s.call('POST', `/delivery/${id3}/events`, f1.token, { event: e });
    const named = await s.call('POST', `/delivery/${id3}/events`, f1.token, { event: 'deliver', proof: { recipientName: 'Carol (neighbour)' } });
    expect(named.body).toMatchObject({ status: 'delivered', proof: { code: false, recipientName: 'Carol (neighbour)' } });

    // resolving the first failure with `retry` dispatches the same order again: a new job and delivery, same customer
    const retried = await s.call('POST', `/exceptions/${exc.body.items[0].id}/resolve`, admin, { action: 'retry', note: 'customer called back' });
    expect(retried.status).toBe(200);
    const again = await s.call('GET', `/delivery?order=${job.body.orderId}`, admin);
    expect(again.body.items).toHaveLength(2);
    expect(again.body.items[0]).toMatchObject({ orderId: job.body.orderId, customer: 'carol', riderId: 'f1', status: 'assigned' });
    expect(again.body.items[0].jobId).not.toBe(job.body.id);
  });

  it('a job for a real order: its customer is the order\'s, delivery events reach them on orders/{orderId}, and delivering it delivers the order', async () => {
    const ok = (r: { status: number; body: unknown }) => expect(r.status, JSON.stringify(r.body)).toBeLessThan(300);
    ok(await s.call('POST', '/wms/warehouses', admin, { code: 'WH1', name: 'Main' }));
    ok(await s.call('POST', '/wms/locations', admin, { warehouse: 'WH1', zone: 'A', aisle: '01', bin: '01' }));
    ok(await s.call('POST', '/wms/skus', admin, { sku: 'PIZZA', name: 'Pizza', lotTracked: false }));
    const rcp = await s.call('POST', '/wms/receipts', admin, { warehouse: 'WH1', lines: [{ sku: 'PIZZA', qty: 5 }] });
    ok(rcp);
    ok(await s.call('POST', `/wms/receipts/${rcp.body.id}/putaway`, admin, { lines: [{ line: 0, location: 'WH1:A/01/01' }] }));
    const dave = await s.token('dave', 'user');
    const order = await s.call('POST', '/orders', dave, { address: { name: 'Dave', line1: '2 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' }, lines: [{ sku: 'PIZZA', qty: 1, unitPrice: 900 }] });
    ok(order);
    const client = await s.mqtt('dave', 'user');
    const box = inbox(client);
    await client.subscribeAsync(topics.order(order.body.id), { qos: 1 }); // granted to the customer at order creation
    for (const event of ['pay', 'allocate', 'start_picking', 'pack', 'ship']) ok(await s.call('POST', `/orders/${order.body.id}/events`, admin, { event }));

    const o1 = await newRider('o1');
    expect((await s.call('POST', '/riders/o1/duty', o1.token, { onDuty: true })).status).toBe(200);
    const base = offset(START, 0, -3000);
    await o1.fix(base);
    // a job names its order's own customer or none: another customer would be granted this rider's position
    const wrong = await s.call('POST', '/dispatch/jobs', admin, { orderId: order.body.id, customer: 'mallory', pickup: offset(base, 50, 0), dropoff: offset(base, 500, 0) });
    expect([wrong.status, wrong.body.type]).toEqual([400, 'INFRA_ERR_VALIDATION']);
    const job = await s.call('POST', '/dispatch/jobs', admin, { orderId: order.body.id, pickup: offset(base, 50, 0), dropoff: offset(base, 500, 0) });
    expect(job.body).toMatchObject({ orderId: order.body.id, customer: 'dave', status: 'assigned', riderId: 'o1' });
    const assigned = await box.next((m) => m.data.type === 'delivery.assigned');
    expect(assigned.topic).toBe(topics.order(order.body.id));
    const id = assigned.data.deliveryId as string;
    for (const e of ['start', 'arrive_pickup', 'pick_up', 'depart_pickup', 'arrive_customer']) ok(await s.call('POST', `/delivery/${id}/events`, admin, { event: e }));
    ok(await s.call('POST', `/delivery/${id}/events`, o1.token, { event: 'deliver', proof: { code: assigned.data.code } }));
    await box.next((m) => m.data.type === 'delivery.status' && m.data.to === 'delivered');
    // the order was shipped: its deliver fired in the same transaction, by the delivery module
    await box.next((m) => m.data.type === 'order.status' && m.data.to === 'delivered');
    const delivered = await s.call('GET', `/orders/${order.body.id}`, dave);
    expect(delivered.body.status).toBe('delivered');
    expect(delivered.body.history.at(-1)).toMatchObject({ from: 'shipped', to: 'delivered', event: 'deliver', actor: 'delivery', actorRole: 'service', reason: `delivery ${id} delivered by rider o1` });
    expect((await s.call('GET', `/delivery?order=${order.body.id}`, dave)).body.items.map((d: { id: string }) => d.id)).toEqual([id]);
    expect((await s.call('GET', `/delivery?order=${order.body.id}`, await s.token('eve', 'user'))).body.items).toEqual([]);
  });

  it('wrong one-time codes are counted: the fifth raises an exception and locks codes; staff then deliver on a recipient name', async () => {
    const k1 = await newRider('k1');
    expect((await s.call('POST', '/riders/k1/duty', k1.token, { onDuty: true })).status).toBe(200);
    const base = offset(START, 3000, 3000);
    await k1.fix(base);
    const job = await s.call('POST', '/dispatch/jobs', admin, { pickup: offset(base, 50, 0), dropoff: offset(base, 500, 0), customer: 'frank' });
    expect(job.body.riderId).toBe('k1');
    const d = (await s.call('GET', `/delivery?job=${job.body.id}`, admin)).body.items[0] as { id: string; code: string };
    for (const e of ['start', 'arrive_pickup', 'pick_up', 'depart_pickup', 'arrive_customer']) expect((await s.call('POST', `/delivery/${d.id}/events`, k1.token, { event: e })).status).toBe(200);
    const wrong = d.code === '000000' ? '000001' : '000000';
    for (let i = 1; i <= 5; i++) {
      const r = await s.call('POST', `/delivery/${d.id}/events`, k1.token, { event: 'deliver', proof: { code: wrong } });
      expect(r.body.type).toBe('INFRA_ERR_DELIVERY_PROOF');
    }
    const exc = await s.call('GET', `/exceptions?entity=${d.id}`, admin);
    expect(exc.body.items.map((e: { type: string }) => e.type)).toEqual(['delivery_code_attempts']);
    // locked: even the right code is refused now, and a name is not enough for a rider on a code job
    expect((await s.call('POST', `/delivery/${d.id}/events`, k1.token, { event: 'deliver', proof: { code: d.code } })).body.type).toBe('INFRA_ERR_DELIVERY_PROOF');
    expect((await s.call('POST', `/delivery/${d.id}/events`, k1.token, { event: 'deliver', proof: { recipientName: 'Frank' } })).body.type).toBe('INFRA_ERR_DELIVERY_PROOF');
    expect(await state(d.id)).toBe('at_customer');
    const staff = await s.call('POST', `/delivery/${d.id}/events`, admin, { event: 'deliver', proof: { recipientName: 'Frank (checked ID)' } });
    expect(staff.body).toMatchObject({ status: 'delivered', proof: { code: false, recipientName: 'Frank (checked ID)' } });
  });

  it('after a server restart geofences are re-armed; staff cancel releases the rider', async () => {
    const z1 = await newRider('z1');
    expect((await s.call('POST', '/riders/z1/duty', z1.token, { onDuty: true })).status).toBe(200);
    const base = offset(START, -3000, 0);
    await z1.fix(base);
    const pickup = offset(base, 200, 0);
    const job = await s.call('POST', '/dispatch/jobs', admin, { pickup, dropoff: offset(base, 900, 0), customer: 'gina' });
    expect(job.body.riderId).toBe('z1');
    const id = (await s.call('GET', `/delivery?job=${job.body.id}`, admin)).body.items[0].id as string;
    await s.restartServer();
    // the rider's next fixes reach the new server (over the same broker); the pickup fence still fires
    await z1.fix(offset(base, 100, 0));
    await z1.fix(pickup);
    await until(async () => (await state(id)) === 'at_pickup', 5000, 'at_pickup after restart');
    expect((await s.call('POST', `/delivery/${id}/events`, z1.token, { event: 'cancel' })).status).toBe(403); // staff only
    const cancelled = await s.call('POST', `/delivery/${id}/events`, admin, { event: 'cancel', reason: 'shop closed' });
    expect(cancelled.body.status).toBe('cancelled');
    expect((await s.call('GET', `/dispatch/jobs/${job.body.id}`, admin)).body.status).toBe('cancelled');
    expect((await s.call('GET', '/riders/z1', admin)).body.load).toBe(0);
  });
});
