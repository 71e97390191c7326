import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFulfillment, type FulfillmentHarness } from '../testing/fulfillment-harness.js';

// Berlin-ish coordinates; 0.01 degree of latitude is about 1.1 km.
const at = (dLat: number, dLng: number) => ({ lat: 52.5 + dLat, lng: 13.4 + dLng });
const T = (min: number) => new Date(Date.UTC(2026, 10, 25, 8, 0, 0) + min * 60_000).toISOString();
const shift = { start: T(0), end: T(600) };
const SPEED = 8;
const DETOUR = 1.3;

/** Straight-line metres, written out here again so the test does not lean on the solver's own code. */
function metres(a: { lat: number; lng: number }, b: { lat: number; lng: number }): number {
  const r = Math.PI / 180;
  const h = Math.sin(((b.lat - a.lat) * r) / 2) ** 2 + Math.cos(a.lat * r) * Math.cos(b.lat * r) * Math.sin(((b.lng - a.lng) * r) / 2) ** 2;
  return 2 * 6371008.8 * Math.asin(Math.sqrt(h));
}

type Body = { vehicles: any[]; jobs: any[]; timeLimitMs?: number; seed?: number };

/**
 * Re-checks an answer against its request from scratch: every job once (or reported unassigned), a shipment's
 * pickup before its dropoff on one vehicle, loads within capacity on every leg, service within windows, skills,
 * started steps first in order, times consistent with the travel model, back by the shift's end.
 */
function verify(body: Body, answer: any, travelS: (a: any, b: any) => number = (a, b) => (metres(a, b) * DETOUR) / SPEED): void {
  const ms = (iso: string) => Date.parse(iso);
  const jobs = new Map(body.jobs.map((j) => [j.id, j]));
  const seen = new Map<string, string[]>();
  for (const route of answer.routes) {
    const v = body.vehicles.find((x) => x.id === route.vehicle)!;
    const steps = route.steps;
    expect(steps[0].type).toBe('start');
    expect(steps.at(-1).type).toBe('end');
    expect(steps[0].location).toEqual(v.start);
    expect(ms(steps[0].departure)).toBeGreaterThanOrEqual(ms(v.shift.start));
    expect(ms(steps.at(-1).arrival)).toBeLessThanOrEqual(ms(v.shift.end) + 1);
    (v.steps ?? []).forEach((s: any, i: number) => {
      expect(steps[i + 1].job).toBe(s.job);
      expect(steps[i + 1].fixed).toBe(true);
    });
    let trip: any[] = [];
    const trips: any[][] = [trip];
    for (let k = 1; k < steps.length; k++) {
      const s = steps[k];
      const prev = steps[k - 1];
      // arrival = previous departure + travel (ms rounding, and OSRM's 6-decimal coordinates, allowed); service within the window
      expect(Math.abs(ms(s.arrival) - ms(prev.departure) - travelS(prev.location, s.location) * 1000)).toBeLessThanOrEqual(20);
      expect(ms(s.serviceStart)).toBeGreaterThanOrEqual(ms(s.arrival) - 1);
      expect(s.load).toBeLessThanOrEqual(v.capacity + 1e-9);
      expect(s.load).toBeGreaterThanOrEqual(-1e-9);
      if (s.type === 'reload') {
        trip = [];
        trips.push(trip);
        continue;
      }
      if (!s.job) continue;
      const job = jobs.get(s.job)!;
      expect(job, `step names unknown job ${s.job}`).toBeDefined();
      for (const skill of job.skills ?? []) expect(v.skills ?? []).toContain(skill);
      const stop = job.type === 'delivery' ? job : s.type === 'pickup' ? job.pickup : job.delivery;
      expect(s.location).toEqual(stop.location);
      if (stop.window && !s.fixed) {
        expect(ms(s.serviceStart)).toBeGreaterThanOrEqual(ms(stop.window.start) - 1);
        expect(ms(s.serviceStart)).toBeLessThanOrEqual(ms(stop.window.end) + 1);
      }
      expect(ms(s.departure) - ms(s.serviceStart)).toBeCloseTo((stop.serviceS ?? 0) * 1000, -1);
      seen.set(s.job, [...(seen.get(s.job) ?? []), `${route.vehicle}:${s.type}:${k}`]);
      trip.push(s);
    }
    // a trip leaves with the goods of its deliveries: the load leaving the start (or the reload) equals their sum
    let reload = 0;
    trips.forEach((t, i) => {
      const goods = t.filter((s) => s.type === 'delivery').reduce((a, s) => a + (jobs.get(s.job)!.demand ?? 1), 0);
      const leaving = i === 0 ? steps[0].load : steps.filter((s: any) => s.type === 'reload')[reload++].load;
      const onBoardPairs = i === 0 ? 0 : leaving - goods;
      expect(onBoardPairs).toBeGreaterThanOrEqual(-1e-9);
      if (i === 0) expect(leaving).toBeCloseTo(goods, 9);
    });
    expect(route.trips).toBe(trips.length);
  }
  const unassigned = new Set(answer.unassigned.map((u: any) => u.job));
  for (const job of body.jobs) {
    const visits = seen.get(job.id) ?? [];
    if (unassigned.has(job.id)) {
      expect(visits).toEqual([]);
      continue;
    }
    if (job.type === 'delivery') expect(visits).toHaveLength(1);
    else {
      expect(visits).toHaveLength(2);
      const [p, d] = visits.map((x) => x.split(':'));
      expect(p![1]).toBe('pickup');
      expect(d![1]).toBe('dropoff');
      expect(p![0]).toBe(d![0]);
      expect(Number(p![2])).toBeLessThan(Number(d![2]));
    }
  }
}

const yaml = (extra = '') => `version: 1\nhttp:\n  port: 0\nfulfillment:\n  rateLimit: 100000\nrouting:\n  speedMps: ${SPEED}\n  detourFactor: ${DETOUR}\n  maxJobs: 300\n  maxTimeLimitMs: 4000\n${extra}`;

function ring(count: number, radius: number, prefix = 'j'): any[] {
  return Array.from({ length: count }, (_, i) => {
    const a = (2 * Math.PI * i) / count;
    return { id: `${prefix}${i}`, type: 'delivery', location: at(radius * Math.cos(a), radius * Math.sin(a) * 1.6), demand: 1, serviceS: 60 };
  });
}

describe('POST /api/v1/dispatch/plan (haversine travel model)', () => {
  let h: FulfillmentHarness;
  let admin: string;
  let service: string;
  beforeAll(async () => {
    h = await startFulfillment({ yaml: yaml() });
    admin = await h.token('admin', 'admin');
    service = await h.token('shop', 'service');
  });
  afterAll(async () => h?.close());

  const plan = (body: unknown, token = service) => h.call('POST', '/dispatch/plan', { token, body });

  it('plans deliveries and shipments with windows on two vehicles; the answer checks out from scratch', async () => {
    const body: Body = {
      vehicles: [
        { id: 'van1', start: at(0, 0), capacity: 6, shift },
        { id: 'van2', start: at(0, 0), end: at(0.02, 0), capacity: 6, shift },
      ],
      jobs: [
        ...ring(8, 0.03),
        { id: 'w1', type: 'delivery', location: at(0.01, 0.01), demand: 2, window: { start: T(60), end: T(90) }, serviceS: 120 },
        { id: 's1', type: 'shipment', demand: 2, pickup: { location: at(-0.02, 0.01), serviceS: 30 }, delivery: { location: at(0.02, -0.03), window: { start: T(0), end: T(240) } } },
        { id: 's2', type: 'shipment', demand: 1, pickup: { location: at(0.005, -0.02) }, delivery: { location: at(-0.01, 0.04) } },
      ],
      timeLimitMs: 500,
    };
    const r = await plan(body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.unassigned).toEqual([]);
    expect(r.body.matrix).toBe('haversine');
    verify(body, r.body);
    expect(r.body.cost.vehicles).toBe(r.body.routes.length);
    expect(r.body.cost.travelS).toBeCloseTo(r.body.routes.reduce((a: number, x: any) => a + x.travelS, 0), 6);
    expect(r.body.cost.distanceM).toBeCloseTo(r.body.cost.travelS * SPEED, 3);
    // a second solve of the same request (time-limited, so not necessarily the same plan) checks out too
    const again = await plan(body);
    verify(body, again.body);
  });

  it('refuses a rider and an anonymous caller; admin and service may plan', async () => {
    const body = { vehicles: [{ id: 'v', start: at(0, 0), capacity: 1, shift }], jobs: [], timeLimitMs: 10 };
    expect((await plan(body, await h.token('r1', 'rider'))).body.type).toBe('INFRA_ERR_FORBIDDEN');
    expect((await plan(body, await h.token('u1', 'user'))).status).toBe(403);
    expect((await h.call('POST', '/dispatch/plan', { body })).status).toBe(401);
    const ok = await plan(body, admin);
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ routes: [], unassigned: [], cost: { vehicles: 0 } });
  });

  it('refuses unknown fields, bad references, oversize plans; caps the time limit', async () => {
    const v = { id: 'v', start: at(0, 0), capacity: 5, shift };
    const unknown = await plan({ vehicles: [{ ...v, colour: 'red' }], jobs: [] });
    expect(unknown.status).toBe(400);
    expect(unknown.body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await plan({ vehicles: [v], jobs: [{ id: 'a', type: 'delivery', location: at(0, 0), extra: 1 }] })).body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await plan({ vehicles: [v], jobs: [{ id: 'a', type: 'delivery', location: { lat: 95, lng: 0 } }] })).body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await plan('{"vehicles": [')).body.type).toBe('INFRA_ERR_MALFORMED_JSON');
    const dup = await plan({ vehicles: [v], jobs: [{ id: 'a', type: 'delivery', location: at(0, 0) }, { id: 'a', type: 'delivery', location: at(0, 0) }] });
    expect(dup.status).toBe(400);
    expect(dup.body.type).toBe('INFRA_ERR_DISPATCH_PLAN_INVALID');
    expect((await plan({ vehicles: [{ ...v, steps: [{ job: 'nope' }] }], jobs: [] })).body.type).toBe('INFRA_ERR_DISPATCH_PLAN_INVALID');
    expect((await plan({ vehicles: [v], jobs: [{ id: 'a', type: 'delivery', location: at(0, 0), window: { start: T(10), end: T(5) } }] })).body.type).toBe('INFRA_ERR_DISPATCH_PLAN_INVALID');
    const shipmentHalf = { vehicles: [{ ...v, steps: [{ job: 's', type: 'delivery' }] }], jobs: [{ id: 's', type: 'shipment', pickup: { location: at(0, 0) }, delivery: { location: at(0.01, 0) } }] };
    expect((await plan(shipmentHalf)).body.type).toBe('INFRA_ERR_DISPATCH_PLAN_INVALID');
    const big = await plan({ vehicles: [v], jobs: ring(301, 0.01) });
    expect(big.status).toBe(413);
    expect(big.body.type).toBe('INFRA_ERR_DISPATCH_PLAN_TOO_LARGE');
    // asks for a minute, gets routing.maxTimeLimitMs (4 s) at most
    const started = Date.now();
    const capped = await plan({ vehicles: [{ ...v, capacity: 100 }], jobs: ring(40, 0.02), timeLimitMs: 60_000 });
    expect(capped.status).toBe(200);
    expect(capped.body.timeMs).toBeLessThanOrEqual(4500);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it('keeps answering /health while a plan is being solved', async () => {
    const body = { vehicles: [{ id: 'v1', start: at(0, 0), capacity: 30, shift }, { id: 'v2', start: at(0, 0), capacity: 30, shift }], jobs: ring(120, 0.04), timeLimitMs: 2500 };
    const started = Date.now();
    const pending = plan(body);
    const lags: number[] = [];
    await new Promise((r) => setTimeout(r, 300));
    while (Date.now() - started < 2000) {
      const t = Date.now();
      const res = await fetch(`${h.base}/health`);
      expect(res.status).toBe(200);
      lags.push(Date.now() - t);
      await new Promise((r) => setTimeout(r, 100));
    }
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.timeMs).toBeGreaterThanOrEqual(2000); // the plan really was running while /health answered
    expect(lags.length).toBeGreaterThanOrEqual(5);
    expect(Math.max(...lags)).toBeLessThan(500);
    verify(body, r.body);
  });

  it('multi-trip: a small van reloads at its start to serve more than its capacity, and only when allowed', async () => {
    const jobs = ring(6, 0.01);
    const one = { vehicles: [{ id: 'v', start: at(0, 0), capacity: 2, shift, maxTrips: 1 }], jobs, timeLimitMs: 300 };
    const single = await plan(one);
    expect(single.status).toBe(200);
    expect(single.body.unassigned).toHaveLength(4);
    expect(single.body.unassigned.every((u: any) => u.reason === 'no_room')).toBe(true);
    verify(one, single.body);
    const three = { vehicles: [{ id: 'v', start: at(0, 0), capacity: 2, shift, maxTrips: 3, reloadS: 600 }], jobs, timeLimitMs: 300 };
    const multi = await plan(three);
    expect(multi.status).toBe(200);
    expect(multi.body.unassigned).toEqual([]);
    verify(three, multi.body);
    const route = multi.body.routes[0];
    expect(route.trips).toBe(3);
    const reloads = route.steps.filter((s: any) => s.type === 'reload');
    expect(reloads).toHaveLength(2);
    for (const s of reloads) {
      expect(s.location).toEqual(at(0, 0));
      expect(s.load).toBe(2); // the next trip's two parcels
      expect(Date.parse(s.departure) - Date.parse(s.serviceStart)).toBe(600_000);
    }
    expect(Math.max(...route.steps.map((s: any) => s.load))).toBe(2);
  });

  it('skills: a job goes only to a vehicle with its skills; one nobody has is unassigned with reason skills', async () => {
    const body: Body = {
      vehicles: [
        { id: 'bike', start: at(0, 0), capacity: 10, shift },
        { id: 'fridge-van', start: at(0.05, 0.05), capacity: 10, skills: ['cold'], shift },
      ],
      jobs: [
        { id: 'ice', type: 'delivery', location: at(0.001, 0.001), skills: ['cold'] },
        { id: 'bread', type: 'delivery', location: at(0.002, 0) },
        { id: 'piano', type: 'delivery', location: at(0.003, 0), skills: ['crane'] },
        { id: 'fish', type: 'shipment', skills: ['cold'], pickup: { location: at(0.001, 0) }, delivery: { location: at(0.004, 0.002) } },
        { id: 'sofa', type: 'delivery', location: at(0.004, 0), demand: 11 },
        { id: 'late', type: 'delivery', location: at(0.3, 0.3), window: { start: T(0), end: T(5) } },
      ],
      timeLimitMs: 300,
    };
    const r = await plan(body);
    expect(r.status).toBe(200);
    verify(body, r.body);
    const onVehicle = (job: string) => r.body.routes.find((x: any) => x.steps.some((s: any) => s.job === job))?.vehicle;
    expect(onVehicle('ice')).toBe('fridge-van'); // although the bike starts next to it
    expect(onVehicle('fish')).toBe('fridge-van');
    expect(onVehicle('bread')).toBeDefined(); // anywhere: with the van out anyway, it may well take it too
    expect(Object.fromEntries(r.body.unassigned.map((u: any) => [u.job, u.reason]))).toEqual({ piano: 'skills', sofa: 'capacity', late: 'time_window' });
  });

  it('re-planning keeps started steps first and in order, even where the optimum would not put them', async () => {
    const jobs = [
      { id: 'near', type: 'delivery', location: at(0.005, 0) },
      { id: 'mid', type: 'delivery', location: at(0.01, 0) },
      { id: 'far', type: 'delivery', location: at(0.02, 0) },
      { id: 'ship', type: 'shipment', pickup: { location: at(0.015, 0) }, delivery: { location: at(0.001, 0) } },
    ];
    // the van stands next to 'far' but has started 'mid' first: it must drive back to it before anything else
    const body: Body = { vehicles: [{ id: 'v', start: at(0.02, 0.001), capacity: 10, shift, steps: [{ job: 'mid' }, { job: 'ship', type: 'pickup' }] }], jobs, timeLimitMs: 200 };
    const r = await plan(body);
    expect(r.status).toBe(200);
    verify(body, r.body);
    const steps = r.body.routes[0].steps.filter((s: any) => s.job);
    expect(steps.slice(0, 3).map((s: any) => [s.job, s.type, s.fixed ?? false])).toEqual([['mid', 'delivery', true], ['ship', 'pickup', true], ['ship', 'dropoff', true]]);
    expect(steps.slice(3).map((s: any) => s.job).sort()).toEqual(['far', 'near']);
    expect(r.body.unassigned).toEqual([]);
  });

  it('started steps that already break the shift are kept as they are; the rest of the plan stays feasible', async () => {
    const jobs = [
      { id: 'far-away', type: 'delivery', location: at(0.5, 0) },
      { id: 'a', type: 'delivery', location: at(0.01, 0) },
      { id: 'b', type: 'delivery', location: at(0, 0.01), skills: ['cold'] },
    ];
    // about 55 km out and back at 8 m/s x 1.3: far beyond a one-hour shift
    const body: Body = { vehicles: [{ id: 'stuck', start: at(0, 0), capacity: 5, shift: { start: T(0), end: T(60) }, steps: [{ job: 'far-away' }] }, { id: 'fresh', start: at(0, 0), capacity: 5, skills: ['cold'], shift }], jobs, timeLimitMs: 200 };
    const r = await plan(body);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    const stuck = r.body.routes.find((x: any) => x.vehicle === 'stuck');
    expect(stuck.steps.map((s: any) => s.job ?? s.type)).toEqual(['start', 'far-away', 'end']);
    expect(Date.parse(stuck.steps.at(-1).arrival)).toBeGreaterThan(Date.parse(T(60)));
    const fresh = r.body.routes.find((x: any) => x.vehicle === 'fresh');
    expect(fresh.steps.filter((s: any) => s.job).map((s: any) => s.job).sort()).toEqual(['a', 'b']);
    expect(r.body.unassigned).toEqual([]);
    // a started step the vehicle cannot do at all is a bad request, not a plan
    const noSkill = await plan({ ...body, vehicles: [{ ...body.vehicles[0], steps: [{ job: 'b' }] }] });
    expect(noSkill.status).toBe(400);
    expect(noSkill.body.type).toBe('INFRA_ERR_DISPATCH_PLAN_INVALID');
    const tooMuch = await plan({ vehicles: [{ id: 'v', start: at(0, 0), capacity: 1, shift, steps: [{ job: 'a' }, { job: 'c' }] }], jobs: [jobs[1], { id: 'c', type: 'delivery', location: at(0.02, 0) }] });
    expect(tooMuch.body.type).toBe('INFRA_ERR_DISPATCH_PLAN_INVALID');
  });
});

describe('POST /api/v1/dispatch/plan with routing.osrmUrl (an OSRM-compatible table server)', () => {
  let osrm: Server;
  let h: FulfillmentHarness;
  let service: string;
  const asked: string[] = [];
  let broken = false;
  // Travel time here is 100 s per 0.01 degree of |dLat| + |dLng| (a grid city), distance 10 m per second:
  // nothing like the haversine model, so the answer's times show which one was used.
  const gridS = (a: number[], b: number[]) => ((Math.abs(a[0]! - b[0]!) + Math.abs(a[1]! - b[1]!)) / 0.01) * 100;

  beforeAll(async () => {
    osrm = createServer((req, res) => {
      asked.push(req.url ?? '');
      const m = /^\/table\/v1\/driving\/([^?]+)\?annotations=duration,distance$/.exec(req.url ?? '');
      if (broken || !m) {
        res.writeHead(broken ? 500 : 400, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'InvalidUrl', message: 'no' }));
        return;
      }
      const pts = m[1]!.split(';').map((p) => p.split(',').map(Number));
      const durations = pts.map((a) => pts.map((b) => gridS(a, b)));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ code: 'Ok', durations, distances: durations.map((row) => row.map((x) => x * 10)), sources: [], destinations: [] }));
    });
    await new Promise<void>((r) => osrm.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(osrm.address() as AddressInfo).port}`;
    h = await startFulfillment({ yaml: yaml(`  osrmUrl: ${url}\n  osrmTimeoutMs: 2000\n`) });
    service = await h.token('shop', 'service');
  });
  afterAll(async () => {
    await h?.close();
    await new Promise((r) => osrm?.close(r));
  });

  it('uses the table for travel times and distances', async () => {
    const body: Body = { vehicles: [{ id: 'v', start: at(0, 0), capacity: 10, shift }], jobs: ring(5, 0.02), timeLimitMs: 200 };
    const r = await h.call('POST', '/dispatch/plan', { token: service, body });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.matrix).toBe('osrm');
    expect(asked.at(-1)).toMatch(/^\/table\/v1\/driving\/13\.400000,52\.500000;/);
    verify(body, r.body, (a, b) => gridS([a.lng, a.lat], [b.lng, b.lat]));
    expect(r.body.cost.distanceM).toBeCloseTo(r.body.cost.travelS * 10, 3);
  });

  it('a failing table server is a 502 INFRA_ERR_DISPATCH_MATRIX, and the gateway stays up', async () => {
    broken = true;
    try {
      const r = await h.call('POST', '/dispatch/plan', { token: service, body: { vehicles: [{ id: 'v', start: at(0, 0), capacity: 10, shift }], jobs: ring(2, 0.01), timeLimitMs: 50 } });
      expect(r.status).toBe(502);
      expect(r.body.type).toBe('INFRA_ERR_DISPATCH_MATRIX');
    } finally {
      broken = false;
    }
    expect((await fetch(`${h.base}/health`)).status).toBe(200);
  });
});
