import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { distanceM, topics } from '@infra/core';
import { inbox, offset, startFleetStack, until, type FleetStack } from '../../test/fleet-stack.js';

/** ETAs along a rider's planned stops and live re-planning, end to end: real broker, real mqtt.js clients, real solver worker. */
const START = { lat: 48.14, lng: 11.58 };
const yaml = `fleet:
  maxSpeedKmh: 2000
dispatch:
  strategy: nearest
  batchIntervalMs: 200
  arrivalRadiusM: 50
  searchRadiusM: 5000
  speedMps: 5
  detourFactor: 1
  pickupDwellS: 30
  dropoffDwellS: 20
  etaRepublishS: 1
  replanTimeLimitMs: 200
  replanIntervalMs: 0
`;

let s: FleetStack;
let admin: string;
let ops: ReturnType<typeof inbox>;

beforeAll(async () => {
  s = await startFleetStack({ yaml });
  admin = await s.token('admin', 'admin');
  // staff watch every order's events (a backend may subscribe with wildcards)
  const watcher = await s.mqtt('ops', 'service');
  ops = inbox(watcher);
  await watcher.subscribeAsync('orders/#', { qos: 1 });
});
afterAll(async () => s?.close());

type P = { lat: number; lng: number };
const legS = (a: P, b: P): number => distanceM(a.lat, a.lng, b.lat, b.lng) / 5;

async function rider(id: string, at: P): Promise<{ client: MqttClient; token: string; box: ReturnType<typeof inbox>; fix(p: P): Promise<void> }> {
  expect((await s.call('POST', '/riders', admin, { id, name: id, vehicle: 'ebike', capacity: 2 })).status).toBe(201);
  const token = await s.token(id, 'rider');
  expect((await s.call('POST', `/riders/${id}/duty`, token, { onDuty: true })).status).toBe(200);
  const client = await s.mqtt(id, 'rider');
  const box = inbox(client);
  await client.subscribeAsync(topics.fleetOffers(id), { qos: 1 }); // the rider's own dispatch inbox: offers, assignments, routes
  const fix = (p: P): Promise<void> => s.fix(client, id, p);
  await fix(at);
  return { client, token, box, fix };
}

const deliveryOfIn = async (stack: FleetStack, token: string, jobId: string): Promise<string> => (await stack.call('GET', `/delivery?job=${jobId}`, token)).body.items[0].id as string;
const deliveryOf = (jobId: string): Promise<string> => deliveryOfIn(s, admin, jobId);
const kinds = (stops: { deliveryId: string; kind: string }[], names: Record<string, string>): string[] => stops.map((x) => `${x.kind === 'pickup' ? 'p' : 'd'}${names[x.deliveryId]}`);

describe('ETA along the planned route', () => {
  it('a rider with two jobs: the second job\'s ETA counts the first job\'s stops and service times, published on orders/{id}', async () => {
    const r = await rider('e1', START);
    const p1 = offset(START, 300, 0);
    const d1 = offset(START, 900, 0);
    const p2 = offset(START, 1200, 0);
    const d2 = offset(START, 1500, 0);
    const j1 = await s.call('POST', '/dispatch/jobs', admin, { pickup: p1, dropoff: d1, customer: 'c1' });
    expect(j1.body).toMatchObject({ status: 'assigned', riderId: 'e1' });
    const j2 = await s.call('POST', '/dispatch/jobs', admin, { pickup: p2, dropoff: d2, customer: 'c2' });
    expect(j2.body).toMatchObject({ status: 'assigned', riderId: 'e1' });
    const [id1, id2] = [await deliveryOf(j1.body.id), await deliveryOf(j2.body.id)];

    // the rider is told its sequence: job 1's stops, then job 2's (already the best order here)
    const route = await r.box.next((m) => m.data.type === 'dispatch.route' && m.data.stops.length === 4);
    expect(kinds(route.data.stops, { [id1]: '1', [id2]: '2' })).toEqual(['p1', 'd1', 'p2', 'd2']);

    // job 2's customer sees a pickup after the rider's pickup and drop-off for job 1, with their dwell times (30 s + 20 s)
    const eta = await ops.next((m) => m.topic === topics.order(j2.body.orderId) && m.data.type === 'delivery.eta');
    const made = Date.parse(eta.data.at);
    const pickupS = legS(START, p1) + 30 + legS(p1, d1) + 20 + legS(d1, p2);
    expect((Date.parse(eta.data.pickupAt) - made) / 1000).toBeCloseTo(pickupS, 0);
    expect((Date.parse(eta.data.dropoffAt) - made) / 1000).toBeCloseTo(pickupS + 30 + legS(p2, d2), 0);
    expect(eta.data.stopsBefore).toBe(2);
    // a straight leg to the pickup alone would be about 240 s: the plan's is 50 s of service + the same road later
    expect(pickupS).toBeGreaterThan(legS(START, p2) + 49);

    // predicted vs actual: the rider reaches pickup 1 (geofence); job 2's ETA moves (republished) as the rider goes
    const before = ops.seen.filter((m) => m.topic === topics.order(j2.body.orderId) && m.data.type === 'delivery.eta').length;
    await r.fix(offset(START, 150, 0));
    await r.fix(p1);
    await until(async () => (await s.call('GET', `/delivery/${id1}`, admin)).body.status === 'at_pickup', 5000, 'at_pickup');
    await until(async () => ops.seen.filter((m) => m.topic === topics.order(j2.body.orderId) && m.data.type === 'delivery.eta').length > before, 5000, 'eta republished');
    const acc = await s.call('GET', '/delivery/eta-accuracy', admin);
    expect(acc.body.pickup.samples).toBeGreaterThanOrEqual(1);
  });
});

describe('live re-planning', () => {
  it('a job for a rider who already has work re-sequences the stops with the solver, keeps the started step first, tells the rider, and the ETAs follow', async () => {
    const base = offset(START, 0, 5000);
    const r = await rider('q1', base);
    const p1 = offset(base, 300, 0);
    const d1 = offset(base, 3000, 0);
    const j1 = await s.call('POST', '/dispatch/jobs', admin, { pickup: p1, dropoff: d1, customer: 'c3' });
    expect(j1.body.riderId).toBe('q1');
    const id1 = await deliveryOf(j1.body.id);
    // the rider sets off toward pickup 1: that step is started and stays first whatever comes
    expect((await s.call('POST', `/delivery/${id1}/events`, r.token, { event: 'start' })).status).toBe(200);
    await r.box.next((m) => m.data.type === 'dispatch.route' && m.data.stops.length === 2);

    // a second job just behind the rider: appended it would be p1 d1 p2 d2 (back 3.2 km); the solver puts it before d1.
    // (Unconstrained, the best route would even start with p2: only the started step keeps p1 first.)
    const p2 = offset(base, -100, 0);
    const d2 = offset(base, -200, 0);
    const j2 = await s.call('POST', '/dispatch/jobs', admin, { pickup: p2, dropoff: d2, customer: 'c4' });
    expect(j2.body.riderId).toBe('q1');
    const id2 = await deliveryOf(j2.body.id);
    const names = { [id1]: '1', [id2]: '2' };
    const route = await r.box.next((m) => m.data.type === 'dispatch.route' && m.data.reason === 'replanned', 10_000);
    expect(kinds(route.data.stops, names)).toEqual(['p1', 'p2', 'd2', 'd1']);
    expect(route.data.travelSAfter).toBeLessThan(route.data.travelSBefore);
    expect(route.data.stops[0]).toMatchObject({ deliveryId: id1, kind: 'pickup', jobId: j1.body.id, orderId: j1.body.orderId });
    expect(typeof route.data.stops[3].arriveAt).toBe('string');

    // job 1's drop-off ETA now includes the detour for job 2 (its stops and their 30 s + 20 s)
    const expectS = legS(base, p1) + 30 + legS(p1, p2) + 30 + legS(p2, d2) + 20 + legS(d2, d1);
    const eta = await ops.next((m) => m.topic === topics.order(j1.body.orderId) && m.data.type === 'delivery.eta' && m.data.stopsBefore === 2, 10_000);
    expect((Date.parse(eta.data.dropoffAt) - Date.parse(eta.data.at)) / 1000).toBeCloseTo(expectS, 0);
    // and job 2's pickup comes right after pickup 1
    const eta2 = await ops.next((m) => m.topic === topics.order(j2.body.orderId) && m.data.type === 'delivery.eta' && m.data.stopsBefore === 1, 10_000);
    expect((Date.parse(eta2.data.pickupAt) - Date.parse(eta2.data.at)) / 1000).toBeCloseTo(legS(base, p1) + 30 + legS(p1, p2), 0);
  });
});

describe('periodic re-planning', () => {
  let p: FleetStack;
  beforeAll(async () => {
    p = await startFleetStack({ yaml: yaml.replace('replanIntervalMs: 0', 'replanIntervalMs: 300') });
  });
  afterAll(async () => p?.close());

  it('every dispatch.replanIntervalMs a rider\'s stops are re-sequenced from where the rider is now', async () => {
    const padmin = await p.token('admin', 'admin');
    expect((await p.call('POST', '/riders', padmin, { id: 'v1', name: 'v1', vehicle: 'ebike', capacity: 2 })).status).toBe(201);
    const token = await p.token('v1', 'rider');
    expect((await p.call('POST', '/riders/v1/duty', token, { onDuty: true })).status).toBe(200);
    const client = await p.mqtt('v1', 'rider');
    const box = inbox(client);
    await client.subscribeAsync(topics.fleetOffers('v1'), { qos: 1 });
    const fix = (at: P): Promise<void> => p.fix(client, 'v1', at);
    await fix(START);
    // one job north, one south: from the start both orders are equally long, so the first stays first
    const j1 = await p.call('POST', '/dispatch/jobs', padmin, { pickup: offset(START, 300, 0), dropoff: offset(START, 600, 0), customer: 'n1' });
    const j2 = await p.call('POST', '/dispatch/jobs', padmin, { pickup: offset(START, -300, 0), dropoff: offset(START, -600, 0), customer: 's1' });
    expect([j1.body.riderId, j2.body.riderId]).toEqual(['v1', 'v1']);
    const names = { [await deliveryOfIn(p, padmin, j1.body.id)]: '1', [await deliveryOfIn(p, padmin, j2.body.id)]: '2' };
    const first = await box.next((m) => m.data.type === 'dispatch.route' && m.data.stops.length === 4);
    expect(kinds(first.data.stops, names)).toEqual(['p1', 'd1', 'p2', 'd2']);
    // the rider drifts south (not yet inside any fence): the next periodic round puts the southern job first
    await fix(offset(START, -200, 0));
    const re = await box.next((m) => m.data.type === 'dispatch.route' && m.data.reason === 'replanned', 5000);
    expect(re.data.trigger).toBe('periodic');
    expect(kinds(re.data.stops, names)).toEqual(['p2', 'd2', 'p1', 'd1']);
  });
});


describe('re-planning keeps promises (dispatch.promiseSlackS)', () => {
  /**
   * Rider at base; job 1 north (p1 600 m, d1 1,200 m), then job 2 south (p2 -300 m, d2 -600 m). Travel alone prefers
   * p2 d2 p1 d1 (480 s against 600 s), which brings p1 at about 410 s instead of the 120 s job 1 was first given.
   */
  async function scenario(slackS: number): Promise<string[]> {
    const st = await startFleetStack({ yaml: `${yaml}  promiseSlackS: ${slackS}\n` });
    try {
      const a = await st.token('admin', 'admin');
      const id = `k${slackS}`;
      expect((await st.call('POST', '/riders', a, { id, name: id, vehicle: 'ebike', capacity: 2 })).status).toBe(201);
      const token = await st.token(id, 'rider');
      expect((await st.call('POST', `/riders/${id}/duty`, token, { onDuty: true })).status).toBe(200);
      const client = await st.mqtt(id, 'rider');
      const box = inbox(client);
      await client.subscribeAsync(topics.fleetOffers(id), { qos: 1 });
      await st.fix(client, id, START);
      const j1 = await st.call('POST', '/dispatch/jobs', a, { pickup: offset(START, 600, 0), dropoff: offset(START, 1200, 0), customer: 'old' });
      await box.next((m) => m.data.type === 'dispatch.route' && m.data.stops.length === 2);
      const j2 = await st.call('POST', '/dispatch/jobs', a, { pickup: offset(START, -300, 0), dropoff: offset(START, -600, 0), customer: 'new' });
      expect([j1.body.riderId, j2.body.riderId]).toEqual([id, id]);
      const names = { [await deliveryOfIn(st, a, j1.body.id)]: '1', [await deliveryOfIn(st, a, j2.body.id)]: '2' };
      // the first 4-stop route is sent once the re-plan for job 2 is done
      const route = await box.next((m) => m.data.type === 'dispatch.route' && m.data.stops.length === 4, 10_000);
      return kinds(route.data.stops, names);
    } finally {
      await st.close();
    }
  }

  it('with no limit (0) the newer job goes first and the older pickup slides by minutes', async () => {
    expect(await scenario(0)).toEqual(['p2', 'd2', 'p1', 'd1']);
  });

  it('with 60 s the older pickup keeps its place: the newer job may not push it past its promise + 60 s', async () => {
    expect(await scenario(60)).toEqual(['p1', 'd1', 'p2', 'd2']);
  });
});

describe('dispatch ranks a busy rider by what a job adds to its planned stops', () => {
  it('a job along a rider\'s planned road goes to that rider, though an idle rider is nearer in a straight line', async () => {
    const st = await startFleetStack({ yaml });
    try {
      const a = await st.token('admin', 'admin');
      const onDuty = async (id: string, at: P): Promise<void> => {
        expect((await st.call('POST', '/riders', a, { id, name: id, vehicle: 'ebike', capacity: 2 })).status).toBe(201);
        const token = await st.token(id, 'rider');
        expect((await st.call('POST', `/riders/${id}/duty`, token, { onDuty: true })).status).toBe(200);
        await st.fix(await st.mqtt(id, 'rider'), id, at);
      };
      // B rides north: pickup 100 m, drop-off 2,000 m
      await onDuty('busy', START);
      const j1 = await st.call('POST', '/dispatch/jobs', a, { pickup: offset(START, 100, 0), dropoff: offset(START, 2000, 0), customer: 'c1' });
      expect(j1.body.riderId).toBe('busy');
      // A waits 600 m east of the new job's pickup; B is 1,000 m from it, but the job lies on B's road (1,000 m → 1,500 m north)
      const p2 = offset(START, 1000, 0);
      await onDuty('idle', offset(p2, 0, 600));
      expect(distanceM(START.lat, START.lng, p2.lat, p2.lng)).toBeGreaterThan(distanceM(p2.lat, p2.lng, offset(p2, 0, 600).lat, offset(p2, 0, 600).lng));
      const j2 = await st.call('POST', '/dispatch/jobs', a, { pickup: p2, dropoff: offset(START, 1500, 0), customer: 'c2' });
      expect(j2.body.riderId).toBe('busy');
      const why = (await st.call('GET', `/dispatch/decisions?job=${j2.body.id}`, a)).body.items.find((d: { outcome: string }) => d.outcome === 'assigned');
      expect(why.score).toBeLessThan(5); // the detour is about nothing; the idle rider would be 120 s away
    } finally {
      await st.close();
    }
  });
});
