import mqtt, { type MqttClient } from 'mqtt';
import { topics, type TokenIssuer } from '@infra/core';

export interface SimulateOptions {
  /** the gateway's API base (…/api/v1) */
  apiUrl: string;
  mqttUrl: string;
  issuer: TokenIssuer;
  /** riders to drive */
  count: number;
  /** delivery jobs to post while simulating (0: only riders, jobs come from elsewhere) */
  jobs: number;
  /** stop after this long at the latest */
  seconds: number;
  center: { lat: number; lng: number };
  /** riders start, and jobs lie, within this distance of the center */
  radiusM: number;
  /** riding speed, m/s */
  speedMps: number;
  /** a fix every `fixMs` */
  fixMs: number;
  /** one line per event, for a person watching */
  say: (line: string) => void;
  /** stop early (SIGINT) */
  signal?: AbortSignal;
}

export interface SimulateSummary {
  riders: number;
  jobsPosted: number;
  assigned: number;
  delivered: number;
  fixesSent: number;
  /** dispatch.route messages received: the planned stop sequences the riders rode */
  routes: number;
  /** mean seconds from a job's assignment to its delivery */
  meanDeliverySeconds: number | null;
  etaAccuracy: unknown;
}

interface Point { lat: number; lng: number }
/** what arrives on fleet/{riderId}/offers */
interface OfferMessage { type: string; id?: string; jobId?: string; pickup?: Point; dropoff?: Point; reason?: string; stops?: { jobId: string; kind: 'pickup' | 'dropoff' }[] }
interface Task { jobId: string; pickup: Point; dropoff: Point; deliveryId?: string; leg: 'pickup' | 'dropoff' | 'done'; assignedAt: number; busy?: boolean }
interface Stop { jobId: string; kind: 'pickup' | 'dropoff' }
interface SimRider { id: string; token: string; pos: Point; heading: number; client: MqttClient; tasks: Task[]; route?: Stop[] }

const EARTH_M = 6_371_000;
const rad = (d: number): number => (d * Math.PI) / 180;
function distanceM(a: Point, b: Point): number {
  const dLat = rad(b.lat - a.lat);
  const dLng = rad(b.lng - a.lng);
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.sqrt(h));
}
/** a point `m` metres from `p` at bearing `deg` (flat approximation: fine over a city) */
function offset(p: Point, m: number, deg: number): Point {
  return { lat: p.lat + (m * Math.cos(rad(deg))) / 111_320, lng: p.lng + (m * Math.sin(rad(deg))) / (111_320 * Math.cos(rad(p.lat))) };
}
function bearing(a: Point, b: Point): number {
  const y = Math.sin(rad(b.lng - a.lng)) * Math.cos(rad(b.lat));
  const x = Math.cos(rad(a.lat)) * Math.sin(rad(b.lat)) - Math.sin(rad(a.lat)) * Math.cos(rad(b.lat)) * Math.cos(rad(b.lng - a.lng));
  return ((Math.atan2(y, x) * 180) / Math.PI + 360) % 360;
}
/** a seeded generator, so a simulation with the same options rides the same roads */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Drives `count` riders over MQTT as their phones would: on duty, a GPS fix every `fixMs` along their way, accepting
 * offers, riding to the pickup (the geofence marks them there), picking up, riding to the customer and delivering with
 * the customer's one-time code. Optionally posts `jobs` delivery jobs around the center. Ends when every posted job is
 * done, after `seconds`, or on `signal`; riders go off duty.
 */
export async function simulateRiders(o: SimulateOptions): Promise<SimulateSummary> {
  const random = rng(20261125);
  const admin = await o.issuer.sign('infra-simulator', 'admin', o.seconds + 600);
  const api = async <T>(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await fetch(`${o.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : undefined) as T };
  };
  const summary: SimulateSummary = { riders: 0, jobsPosted: 0, assigned: 0, delivered: 0, fixesSent: 0, routes: 0, meanDeliverySeconds: null, etaAccuracy: null };
  const deliveryTimes: number[] = [];
  const riders: SimRider[] = [];
  const t0 = Date.now();
  let jobsAttempted = 0;
  const elapsed = (): string => `${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s`;

  // the customers' view: what arrives on orders/{id} (ETAs, statuses), as a backend sees it
  const watcher = await mqtt.connectAsync(o.mqttUrl, { protocolVersion: 4, username: 'infra-simulator', password: admin, reconnectPeriod: 0 }, false);
  await watcher.subscribeAsync('orders/+', { qos: 1 });
  watcher.on('message', (_topic, payload) => {
    const e = JSON.parse(payload.toString()) as { type: string; deliveryId?: string; to?: string; pickupAt?: string | null; dropoffAt?: string | null };
    if (e.type === 'delivery.eta') o.say(`${elapsed()} eta     ${e.deliveryId} pickup ${e.pickupAt?.slice(11, 19) ?? 'done'} drop-off ${e.dropoffAt?.slice(11, 19) ?? '-'}`);
    else if (e.type === 'delivery.status') o.say(`${elapsed()} status  ${e.deliveryId} → ${e.to}`);
  });

  try {
    for (let i = 1; i <= o.count; i++) {
      const id = `sim-r${i}`;
      const created = await api('POST', '/riders', admin, { id, name: `Simulated rider ${i}`, vehicle: 'ebike', capacity: 2 });
      if (created.status !== 201 && created.status !== 409) throw new Error(`POST /riders ${id}: ${created.status} ${JSON.stringify(created.body)}`);
      const token = await o.issuer.sign(id, 'rider', o.seconds + 600);
      const duty = await api('POST', `/riders/${id}/duty`, token, { onDuty: true });
      if (duty.status !== 200) throw new Error(`POST /riders/${id}/duty: ${duty.status} ${JSON.stringify(duty.body)}`);
      const client = await mqtt.connectAsync(o.mqttUrl, { protocolVersion: 4, username: id, password: token, reconnectPeriod: 0 }, false);
      const r: SimRider = { id, token, pos: offset(o.center, Math.sqrt(random()) * o.radiusM, random() * 360), heading: 0, client, tasks: [] };
      await client.subscribeAsync(topics.fleetOffers(id), { qos: 1 });
      client.on('message', (_t, payload) => onOffer(r, JSON.parse(payload.toString()) as OfferMessage));
      riders.push(r);
    }
    summary.riders = riders.length;
    o.say(`${elapsed()} ${riders.length} riders on duty within ${o.radiusM} m of ${o.center.lat},${o.center.lng}`);

    function onOffer(r: SimRider, m: OfferMessage): void {
      if (m.type === 'dispatch.route' && m.stops) {
        // the server's planned order of this rider's stops (re-planned as jobs arrive): ride them in that order
        summary.routes++;
        r.route = m.stops.map((x) => ({ jobId: x.jobId, kind: x.kind }));
        o.say(`${elapsed()} route   ${r.id}: ${r.route.map((x) => `${x.kind === 'pickup' ? 'P' : 'D'} ${x.jobId}`).join(', ')}${m.reason ? ` (${m.reason})` : ''}`);
      } else if (m.type === 'dispatch.offer' && m.id) {
        o.say(`${elapsed()} offer   ${r.id} ← ${m.jobId}`);
        // a person glances at the phone before tapping accept
        setTimeout(() => r.client.publish(topics.fleetOfferReplies(r.id), JSON.stringify({ offerId: m.id, accept: true }), { qos: 1 }), 200 + random() * 600);
      } else if (m.type === 'dispatch.assigned' && m.jobId && m.pickup && m.dropoff && !r.tasks.some((t) => t.jobId === m.jobId)) {
        summary.assigned++;
        r.tasks.push({ jobId: m.jobId, pickup: m.pickup, dropoff: m.dropoff, leg: 'pickup', assignedAt: Date.now() });
        o.say(`${elapsed()} assign  ${r.id} ← ${m.jobId} (pickup ${Math.round(distanceM(r.pos, m.pickup))} m away)`);
      }
    }

    // jobs arrive over the first half of the run
    const jobTimes = Array.from({ length: o.jobs }, (_, k) => (k * o.seconds * 500) / Math.max(1, o.jobs));
    const jobTimers = jobTimes.map((at, k) => setTimeout(() => void postJob(k + 1), at));
    async function postJob(k: number): Promise<void> {
      jobsAttempted++;
      const pickup = offset(o.center, Math.sqrt(random()) * o.radiusM, random() * 360);
      const dropoff = offset(pickup, 300 + random() * 900, random() * 360);
      const res = await api<{ id: string; status: string }>('POST', '/dispatch/jobs', admin, { customer: `sim-c${k}`, pickup, dropoff });
      if (res.status !== 201) return o.say(`${elapsed()} job refused: ${res.status} ${JSON.stringify(res.body)}`);
      summary.jobsPosted++;
      o.say(`${elapsed()} job     ${res.body.id} posted (${res.body.status})`);
    }

    /** one step of a task: ride toward its leg's target; on arrival pick up or deliver */
    async function step(r: SimRider, task: Task, dtS: number): Promise<void> {
      const target = task.leg === 'pickup' ? task.pickup : task.dropoff;
      const d = distanceM(r.pos, target);
      const stepM = o.speedMps * dtS;
      if (d > 5) {
        r.heading = bearing(r.pos, target);
        r.pos = d <= stepM ? { ...target } : offset(r.pos, stepM, r.heading);
        return;
      }
      if (task.busy) return;
      task.busy = true;
      try {
        if (!task.deliveryId) {
          const list = await api<{ items: { id: string }[] }>('GET', `/delivery?job=${task.jobId}`, admin);
          task.deliveryId = list.body.items?.[0]?.id;
          if (!task.deliveryId) return;
        }
        if (task.leg === 'pickup') {
          const res = await api('POST', `/delivery/${task.deliveryId}/events`, r.token, { event: 'pick_up' });
          if (res.status === 200) {
            task.leg = 'dropoff';
            o.say(`${elapsed()} pickup  ${r.id} picked up ${task.jobId}`);
          }
          return; // 409: the geofence has not marked the rider at the pickup yet; the next fix will
        }
        // the customer reads out the one-time code (staff can see it; the rider's token cannot)
        const view = await api<{ code?: string }>('GET', `/delivery/${task.deliveryId}`, admin);
        const res = await api('POST', `/delivery/${task.deliveryId}/events`, r.token, { event: 'deliver', proof: { code: view.body.code } });
        if (res.status === 200) {
          task.leg = 'done';
          summary.delivered++;
          deliveryTimes.push((Date.now() - task.assignedAt) / 1000);
          o.say(`${elapsed()} deliver ${r.id} delivered ${task.jobId} (${Math.round((Date.now() - task.assignedAt) / 1000)} s after assignment)`);
        }
      } finally {
        task.busy = false;
      }
    }

    /** the task of the first stop of the rider's planned route still to do; without a route, the oldest open task */
    function nextTask(r: SimRider): Task | undefined {
      for (const stop of r.route ?? []) {
        const task = r.tasks.find((t) => t.jobId === stop.jobId && t.leg === stop.kind);
        if (task) return task;
      }
      return r.tasks.find((t) => t.leg !== 'done');
    }

    let last = Date.now();
    const deadline = t0 + o.seconds * 1000;
    while (Date.now() < deadline && !o.signal?.aborted) {
      await new Promise((res) => setTimeout(res, o.fixMs));
      const now = Date.now();
      const dtS = (now - last) / 1000;
      last = now;
      for (const r of riders) {
        const task = nextTask(r);
        if (task) await step(r, task, dtS).catch((err: Error) => o.say(`${elapsed()} ${r.id}: ${err.message}`));
        r.client.publish(topics.fleetLocation(r.id), JSON.stringify({ lat: r.pos.lat, lng: r.pos.lng, speed: task ? o.speedMps : 0, heading: Math.round(r.heading), accuracy: 8, ts: Date.now() }), { qos: 0 });
        summary.fixesSent++;
      }
      if (o.jobs > 0 && jobsAttempted >= o.jobs && summary.delivered >= summary.jobsPosted) break;
    }
    for (const t of jobTimers) clearTimeout(t);
    summary.meanDeliverySeconds = deliveryTimes.length ? Math.round((deliveryTimes.reduce((a, b) => a + b, 0) / deliveryTimes.length) * 10) / 10 : null;
    summary.etaAccuracy = (await api('GET', '/delivery/eta-accuracy', admin)).body;
    return summary;
  } finally {
    for (const r of riders) {
      await api('POST', `/riders/${r.id}/duty`, r.token, { onDuty: false }).catch(() => undefined);
      await r.client.endAsync(true).catch(() => undefined);
    }
    await watcher.endAsync(true).catch(() => undefined);
  }
}
