import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { MqttClient } from 'mqtt';
import { topics } from '@infra/core';
import { inbox, offset, sleep, startFleetStack, until, type FleetStack } from '../../test/fleet-stack.js';

// Three zones 11 km apart; riders are searched within 5 km of a pickup, so each test's riders only see its own zone.
const NEAR = { lat: 52.40, lng: 13.40 };
const GRAB = { lat: 52.50, lng: 13.40 };
const BATCH = { lat: 52.60, lng: 13.40 };
const yaml = `dispatch:
  searchRadiusM: 5000
  batchIntervalMs: 1500
  offerTimeoutMs: 800
  grabOffers: 2
  speedMps: 5
  detourFactor: 1
  zones:
    - { id: near, strategy: nearest, center: { lat: ${NEAR.lat}, lng: ${NEAR.lng} }, radiusM: 3000 }
    - { id: grab, strategy: grab, center: { lat: ${GRAB.lat}, lng: ${GRAB.lng} }, radiusM: 3000 }
    - { id: batch, strategy: batch, center: { lat: ${BATCH.lat}, lng: ${BATCH.lng} }, radiusM: 3000 }
`;

let s: FleetStack;
let admin: string;
const riderClients = new Map<string, MqttClient>();

beforeAll(async () => {
  s = await startFleetStack({ yaml });
  admin = await s.token('admin', 'admin');
});
afterAll(async () => s?.close());

/** A real rider: profile, on duty, and a fix published over MQTT on fleet/{id}/loc until the server has it. */
async function rider(id: string, at: { lat: number; lng: number }, o: { capacity?: number; merchantId?: string; onDuty?: boolean } = {}): Promise<void> {
  const created = await s.call('POST', '/riders', admin, { id, name: id, vehicle: 'bicycle', capacity: o.capacity ?? 1, ...(o.merchantId ? { merchantId: o.merchantId } : {}) });
  expect(created.status).toBe(201);
  if (o.onDuty !== false) expect((await s.call('POST', `/riders/${id}/duty`, admin, { onDuty: true })).status).toBe(200);
  const c = await s.mqtt(id, 'rider');
  riderClients.set(id, c);
  await s.fix(c, id, at);
}

const job = (pickup: { lat: number; lng: number }, extra: Record<string, unknown> = {}) => s.call('POST', '/dispatch/jobs', admin, { pickup, dropoff: offset(pickup, 1000, 0), customer: 'c-1', ...extra });
const decisions = async (jobId: string) => (await s.call('GET', `/dispatch/decisions?job=${jobId}`, admin)).body.items as { riderId: string | null; outcome: string; distanceM: number | null; load: number | null; capacity: number | null; score: number | null; reason: string }[];
const load = async (id: string) => (await s.call('GET', `/riders/${id}`, admin)).body.load as number;

describe('dispatch: nearest', () => {
  it('assigns the nearest platform rider, a merchant job to its own rider first, and never past capacity', async () => {
    // n1 300 m, n2 1000 m (platform pool); m1 2000 m (merchant shop-1's own rider)
    await rider('n1', offset(NEAR, 300, 0));
    await rider('n2', offset(NEAR, 1000, 0));
    await rider('m1', offset(NEAR, 2000, 0), { merchantId: 'shop-1' });

    const a = await job(NEAR);
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ zone: 'near', strategy: 'nearest', status: 'assigned', riderId: 'n1' });
    const why = (await decisions(a.body.id)).find((x) => x.outcome === 'assigned')!;
    expect(why).toMatchObject({ riderId: 'n1', load: 0, capacity: 1 });
    expect(why.distanceM).toBeGreaterThan(290);
    expect(why.distanceM).toBeLessThan(310);
    expect(why.score).toBeCloseTo(why.distanceM! / 5, 0); // travel seconds at the 5 m/s prior
    expect(why.reason).toContain('platform pool');

    // the merchant's own rider, although two platform riders are nearer
    const b = await job(NEAR, { merchantId: 'shop-1' });
    expect(b.body).toMatchObject({ status: 'assigned', riderId: 'm1', merchantId: 'shop-1' });
    expect((await decisions(b.body.id)).find((x) => x.outcome === 'assigned')!.reason).toContain('own rider');

    // n1 is full (capacity 1): the next job goes to n2
    const c = await job(NEAR);
    expect(c.body).toMatchObject({ status: 'assigned', riderId: 'n2' });
    // nobody left: the job waits in the pool, and says why
    const d = await job(NEAR);
    expect(d.body).toMatchObject({ status: 'pooled', riderId: null });
    expect((await decisions(d.body.id)).map((x) => x.outcome)).toEqual(['pooled', 'no_rider']);
    // a merchant job with no own rider free falls back to the platform pool (none free either: it waits too)
    const e = await job(NEAR, { merchantId: 'shop-1' });
    expect(e.body.status).toBe('pooled');
    for (const id of ['n1', 'n2', 'm1']) expect(await load(id)).toBe(1);

    // a rider coming on duty is picked up by the next round: the oldest waiting job first
    await rider('n3', offset(NEAR, 500, 0));
    const got = await until(async () => {
      const j = await s.call('GET', `/dispatch/jobs/${d.body.id}`, admin);
      return j.body.status === 'assigned' && j.body;
    }, 5000, 'the waiting job to be assigned');
    expect(got.riderId).toBe('n3');
    // the merchant job: its own rider m1 is still full, so with merchantFallback it goes to the platform pool
    await rider('n4', offset(NEAR, 700, 0));
    const fell = await until(async () => {
      const j = await s.call('GET', `/dispatch/jobs/${e.body.id}`, admin);
      return j.body.status === 'assigned' && j.body;
    }, 5000, 'the merchant job to fall back');
    expect(fell.riderId).toBe('n4');
    expect((await decisions(e.body.id)).find((x) => x.outcome === 'assigned')!.reason).toContain('platform pool');
  });

  it('concurrent jobs never push a rider past capacity', async () => {
    const far = offset(NEAR, -2500, 0);
    await rider('cap2', offset(far, 10, 0), { capacity: 2 });
    const all = await Promise.all(Array.from({ length: 6 }, () => job(far)));
    expect(all.every((r) => r.status === 201)).toBe(true);
    const mine = all.filter((r) => r.body.riderId === 'cap2');
    expect(mine).toHaveLength(2);
    expect(await load('cap2')).toBe(2);
  });
});

describe('dispatch: batch', () => {
  it('matches waiting jobs to riders at minimum total travel (not job by job)', async () => {
    // On a north-south line: r1 at 0 m, r2 at 1200 m; J1 pickup at 100 m, J2 at -900 m.
    // Job by job, J1 would take r1 (100 m) and leave J2 with r2 (2100 m): 2200 m in all.
    // The optimum gives J1 r2 (1100 m) and J2 r1 (900 m): 2000 m.
    await rider('r1', BATCH);
    await rider('r2', offset(BATCH, 1200, 0));
    // A sentinel job no rider can reach marks a round boundary; J1 and J2 are then created well inside one interval.
    const sentinel = await job(offset(BATCH, 0, 2900), { zone: 'batch', skills: ['nobody_has_this'] });
    await until(async () => (await decisions(sentinel.body.id)).some((x) => x.outcome === 'no_rider'), 5000, 'a batch round');
    const j1 = await job(offset(BATCH, 100, 0));
    const j2 = await job(offset(BATCH, -900, 0));
    expect(j1.body).toMatchObject({ zone: 'batch', status: 'pooled' });
    expect(j2.body).toMatchObject({ zone: 'batch', status: 'pooled' });
    const [a1, a2] = await until(async () => {
      const x = await s.call('GET', `/dispatch/jobs/${j1.body.id}`, admin);
      const y = await s.call('GET', `/dispatch/jobs/${j2.body.id}`, admin);
      return x.body.status === 'assigned' && y.body.status === 'assigned' && [x.body, y.body];
    }, 5000, 'the batch round');
    expect(a1.riderId).toBe('r2');
    expect(a2.riderId).toBe('r1');
    const why = (await decisions(j1.body.id)).find((x) => x.outcome === 'assigned')!;
    // the sentinel is in the round too (3 jobs) but no rider can take it
    expect(why.reason).toMatch(/^batch round: 3 job\(s\) x 2 rider\(s\), 2 matched at total cost 400 s/);
    expect(why.score).toBeCloseTo(1100 / 5, 0);
    expect((await s.call('GET', `/dispatch/jobs/${sentinel.body.id}`, admin)).body.status).toBe('pooled');
  });
});

describe('dispatch: grab', () => {
  it('offers to the K nearest over MQTT; the first accept wins and the other offer is withdrawn', async () => {
    await rider('g1', offset(GRAB, 200, 0));
    await rider('g2', offset(GRAB, 400, 0));
    await rider('g3', offset(GRAB, 600, 0));
    const boxes = new Map<string, ReturnType<typeof inbox>>();
    for (const id of ['g1', 'g2', 'g3']) {
      const tok = await s.token(id, 'rider');
      expect((await s.call('GET', '/dispatch/offers', tok)).body).toEqual({ items: [] }); // grants fleet/{id}/offers
      const c = riderClients.get(id)!;
      boxes.set(id, inbox(c));
      const granted = await c.subscribeAsync(topics.fleetOffers(id), { qos: 1 });
      expect(granted[0]?.qos).toBe(1);
    }
    // not someone else's offers (SUBACK 0x80, which mqtt.js turns into an error)
    await expect(riderClients.get('g1')!.subscribeAsync(topics.fleetOffers('g2'), { qos: 1 })).rejects.toThrow(/Subscribe error/);

    const j = await job(GRAB);
    expect(j.body).toMatchObject({ zone: 'grab', strategy: 'grab', status: 'offered' });
    expect(j.body.offers.map((o: { riderId: string }) => o.riderId)).toEqual(['g1', 'g2']);
    const o1 = await boxes.get('g1')!.next((m) => m.data.type === 'dispatch.offer' && m.data.jobId === j.body.id);
    const o2 = await boxes.get('g2')!.next((m) => m.data.type === 'dispatch.offer' && m.data.jobId === j.body.id);
    expect(boxes.get('g3')!.seen.some((m) => m.data.jobId === j.body.id)).toBe(false);

    const g1 = await s.token('g1', 'rider');
    const g2 = await s.token('g2', 'rider');
    expect((await s.call('POST', `/dispatch/offers/${o1.data.id}/accept`, g2)).status).toBe(404); // not g2's offer
    const won = await s.call('POST', `/dispatch/offers/${o2.data.id}/accept`, g2);
    expect(won.status).toBe(200);
    expect(won.body).toMatchObject({ status: 'assigned', riderId: 'g2' });
    await boxes.get('g1')!.next((m) => m.data.type === 'dispatch.withdrawn' && m.data.offerId === o1.data.id);
    const late = await s.call('POST', `/dispatch/offers/${o1.data.id}/accept`, g1);
    expect(late.status).toBe(409);
    expect(late.body.type).toBe('INFRA_ERR_DISPATCH_OFFER_CLOSED');
    expect((await s.call('POST', '/dispatch/jobs', g1, { pickup: GRAB, dropoff: GRAB })).status).toBe(403);
    expect((await s.call('GET', `/dispatch/decisions?job=${j.body.id}`, g1)).status).toBe(403);
    expect((await decisions(j.body.id)).map((x) => [x.outcome, x.riderId])).toEqual([['pooled', null], ['offered', 'g1'], ['offered', 'g2'], ['withdrawn', 'g1'], ['accepted', 'g2']]);
  });

  it('a full rider is never offered; a rejected and an expired offer return the job to the pool, then nearest takes it', async () => {
    // g2 is full (capacity 1, holding the last job): the two nearest free are g1 and g3
    const j = await job(GRAB);
    expect(j.body.offers.map((o: { riderId: string }) => o.riderId)).toEqual(['g1', 'g3']);
    const [o1, o3] = j.body.offers as { id: string; riderId: string }[];
    // g1 says no over MQTT (the reply topic, published here by a backend client until riders may publish on it)
    const backend = await s.mqtt('dispatch-test', 'service');
    await backend.publishAsync(topics.fleetOfferReplies('g1'), JSON.stringify({ offerId: o1!.id, accept: false }), { qos: 1 });
    const g1box = inbox(riderClients.get('g1')!);
    await g1box.next((m) => m.data.type === 'dispatch.answer' && m.data.offerId === o1!.id && m.data.ok === true);
    // g3 does not answer: the offer expires (800 ms), the job falls back to nearest, g1 (who refused) excluded
    const done = await until(async () => {
      const x = await s.call('GET', `/dispatch/jobs/${j.body.id}`, admin);
      return x.body.status === 'assigned' && x.body;
    }, 5000, 'the fallback');
    expect(done.riderId).toBe('g3');
    expect(done.offers.map((o: { riderId: string; status: string }) => [o.riderId, o.status])).toEqual([['g1', 'rejected'], ['g3', 'expired']]);
    const outcomes = (await decisions(j.body.id)).map((x) => [x.outcome, x.riderId]);
    expect(outcomes).toEqual([['pooled', null], ['offered', 'g1'], ['offered', 'g3'], ['rejected', 'g1'], ['expired', 'g3'], ['fallback', null], ['assigned', 'g3']]);
    const g3 = await s.token('g3', 'rider');
    const closed = await s.call('POST', `/dispatch/offers/${o3!.id}/accept`, g3);
    expect(closed.body.type).toBe('INFRA_ERR_DISPATCH_OFFER_CLOSED');
    for (const id of ['g2', 'g3']) expect(await load(id)).toBe(1);
    // a malformed reply gets an answer, not a crash
    await backend.publishAsync(topics.fleetOfferReplies('g1'), '{nope', { qos: 1 });
    await g1box.next((m) => m.data.type === 'dispatch.answer' && m.data.code === 'INFRA_ERR_MALFORMED_JSON');
    await sleep(10);
  });
});

describe('dispatch: grab, concurrent accepts', () => {
  it('two riders accepting at the same moment: exactly one wins, the other gets OFFER_CLOSED', async () => {
    const spot = offset(GRAB, 0, 2000);
    await rider('g4', offset(spot, 10, 0));
    await rider('g5', offset(spot, 20, 0));
    const j = await job(spot);
    expect(j.body.offers.map((o: { riderId: string }) => o.riderId)).toEqual(['g4', 'g5']);
    const [a, b] = j.body.offers as { id: string; riderId: string }[];
    const [ra, rb] = await Promise.all([
      s.call('POST', `/dispatch/offers/${a!.id}/accept`, await s.token('g4', 'rider')),
      s.call('POST', `/dispatch/offers/${b!.id}/accept`, await s.token('g5', 'rider')),
    ]);
    expect([ra.status, rb.status].sort()).toEqual([200, 409]);
    const loser = ra.status === 409 ? ra : rb;
    expect(loser.body.type).toBe('INFRA_ERR_DISPATCH_OFFER_CLOSED');
    const winner = ra.status === 200 ? 'g4' : 'g5';
    expect((await s.call('GET', `/dispatch/jobs/${j.body.id}`, admin)).body.riderId).toBe(winner);
    expect(await load(winner)).toBe(1);
    expect(await load(winner === 'g4' ? 'g5' : 'g4')).toBe(0);
  });
});

describe('dispatch: merchantFallback false', () => {
  it('a merchant job waits for its own riders instead of taking the platform pool', async () => {
    const own = await startFleetStack({ yaml: 'dispatch:\n  merchantFallback: false\n  batchIntervalMs: 300\n' });
    try {
      const adm = await own.token('admin', 'admin');
      const place = async (id: string, at: { lat: number; lng: number }, merchantId?: string) => {
        expect((await own.call('POST', '/riders', adm, { id, name: id, vehicle: 'car', capacity: 1, ...(merchantId ? { merchantId } : {}) })).status).toBe(201);
        expect((await own.call('POST', `/riders/${id}/duty`, adm, { onDuty: true })).status).toBe(200);
        const c = await own.mqtt(id, 'rider');
        await own.fix(c, id, at);
      };
      await place('p1', offset(NEAR, 100, 0));
      const j = await own.call('POST', '/dispatch/jobs', adm, { pickup: NEAR, dropoff: offset(NEAR, 500, 0), merchantId: 'shop-2' });
      expect(j.body).toMatchObject({ status: 'pooled', riderId: null });
      await place('s2', offset(NEAR, 3000, 0), 'shop-2');
      const got = await until(async () => {
        const x = await own.call('GET', `/dispatch/jobs/${j.body.id}`, adm);
        return x.body.status === 'assigned' && x.body;
      }, 5000, 'the merchant\'s own rider');
      expect(got.riderId).toBe('s2');
    } finally {
      await own.close();
    }
  });
});

describe('dispatch: bad input', () => {
  it('unknown fields, unknown zones and bad coordinates are 400 and write nothing', async () => {
    const bad = await s.call('POST', '/dispatch/jobs', admin, { pickup: NEAR, dropoff: NEAR, colour: 'red' });
    expect(bad.status).toBe(400);
    expect(bad.body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await s.call('POST', '/dispatch/jobs', admin, { pickup: { lat: 91, lng: 0 }, dropoff: NEAR })).body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await s.call('POST', '/dispatch/jobs', admin, { pickup: NEAR, dropoff: NEAR, zone: 'mars' })).body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await s.call('POST', '/dispatch/jobs', admin, { pickup: NEAR, dropoff: NEAR, orderId: 'ord_missing' })).body.type).toBe('INFRA_ERR_NOT_FOUND');
    expect((await s.call('POST', '/dispatch/jobs', admin, '{"pickup":')).body.type).toBe('INFRA_ERR_MALFORMED_JSON');
    expect((await s.call('GET', '/dispatch/jobs/job_nope', admin)).status).toBe(404);
    expect((await s.call('POST', '/dispatch/offers/ofr_nope/accept', await s.token('g1', 'rider'))).status).toBe(404);
  });
});
