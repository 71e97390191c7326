import { InfraError } from '@infra/core/errors';
import type { PlanAnswer, PlanBody } from '../dispatch/plan-schema.js';
import { checkSolution } from './check.js';
import { bestInsertion, Instance, Route } from './insertion.js';
import { haversineMatrix, osrmMatrix, type LatLng, type TravelMatrix } from './matrix.js';
import type { RoutingNode, RoutingProblem, RoutingVehicle } from './problem.js';
import { solve } from './solve.js';

export interface RoutePlannerConfig {
  osrmUrl: string;
  osrmTimeoutMs: number;
  speedMps: number;
  detourFactor: number;
  timeLimitMs: number;
  maxTimeLimitMs: number;
  maxJobs: number;
  maxVehicles: number;
  maxConcurrent: number;
}

/** What a node of the built problem stands for in the request. */
interface NodeRef {
  kind: 'start' | 'end' | 'reload' | 'delivery' | 'pickup' | 'dropoff';
  job?: string;
  vehicle?: number;
  loc: number;
}

/** no window: far beyond any shift (seconds) */
const OPEN = 1e9;

function invalid(message: string, path: string): InfraError {
  return new InfraError('INFRA_ERR_DISPATCH_PLAN_INVALID', message, { details: [{ path, message }] });
}

/**
 * POST /api/v1/dispatch/plan behind HTTP: turns a plan request (vehicles with shifts, capacities, skills, started
 * steps, multi-trip; deliveries and shipments with windows) into a RoutingProblem over a travel-time matrix
 * (haversine with a speed model, or an OSRM table), solves it in a worker thread, re-checks the plan with the
 * independent checker, and answers routes with times and loads plus every unassigned job with a reason.
 * Times inside are seconds from the earliest shift start.
 */
export class RoutePlanner {
  private running = 0;

  constructor(private readonly cfg: RoutePlannerConfig) {}

  async plan(body: PlanBody): Promise<PlanAnswer> {
    const { cfg } = this;
    if (body.jobs.length > cfg.maxJobs) throw new InfraError('INFRA_ERR_DISPATCH_PLAN_TOO_LARGE', `${body.jobs.length} jobs, at most ${cfg.maxJobs} per plan (routing.maxJobs)`);
    if (body.vehicles.length > cfg.maxVehicles) throw new InfraError('INFRA_ERR_DISPATCH_PLAN_TOO_LARGE', `${body.vehicles.length} vehicles, at most ${cfg.maxVehicles} per plan (routing.maxVehicles)`);
    const built = this.build(body);
    if (this.running >= cfg.maxConcurrent) throw new InfraError('INFRA_ERR_DISPATCH_PLAN_BUSY', `${this.running} plans are being solved (routing.maxConcurrent)`);
    this.running++;
    try {
      const matrix = cfg.osrmUrl ? await osrmMatrix(cfg.osrmUrl, built.locations, cfg.osrmTimeoutMs) : haversineMatrix(built.locations, cfg.speedMps, cfg.detourFactor);
      const k = built.locations.length;
      const n = built.nodes.length;
      const durations = new Array<number>(n * n);
      for (let a = 0; a < n; a++) for (let b = 0; b < n; b++) durations[a * n + b] = matrix.durations[built.refs[a]!.loc * k + built.refs[b]!.loc]!;
      const problem: RoutingProblem = { name: 'plan', format: 'custom', capacity: Math.max(...built.vehicles.map((v) => v.capacity)), fleetSize: built.vehicles.length, nodes: built.nodes, vehicles: built.vehicles, matrix: durations };
      const timeLimitMs = Math.min(body.timeLimitMs ?? cfg.timeLimitMs, cfg.maxTimeLimitMs);
      const solution = await solve(problem, { timeLimitMs, seed: body.seed ?? 1 });
      // started steps may already make a vehicle late (a window, or the shift's end): that is a fact of the request,
      // not the solver's doing, so the check forgives exactly what the started steps alone break
      const given = new Set(checkSolution(problem, built.vehicles.map((v) => v.fixed ?? [])).violations.map((v) => `${v.route}:${v.kind}`));
      const check = checkSolution(problem, solution.routes);
      const wrong = check.violations.filter((v) => v.kind !== 'missing' && !given.has(`${v.route}:${v.kind}`));
      if (wrong.length > 0) throw new InfraError('INFRA_ERR_INTERNAL', `the solver's plan fails the checker: ${wrong[0]!.message}`);
      return this.answer(body, built, problem, matrix, solution.routes, solution.unassigned, solution.timeMs);
    } finally {
      this.running--;
    }
  }

  /** Validates references and builds nodes (vehicle starts, ends and reload stops first, then jobs). */
  private build(body: PlanBody): { nodes: RoutingNode[]; refs: NodeRef[]; vehicles: RoutingVehicle[]; locations: LatLng[]; t0: number } {
    const shiftStarts = body.vehicles.map((v) => Date.parse(v.shift.start));
    const t0 = Math.min(...shiftStarts);
    const sec = (iso: string): number => (Date.parse(iso) - t0) / 1000;
    const window = (w: { start: string; end: string } | undefined, path: string): [number, number] => {
      if (!w) return [0, OPEN];
      const a = sec(w.start);
      const b = sec(w.end);
      if (!(b >= a)) throw invalid(`window ends (${w.end}) before it starts (${w.start})`, path);
      return [a, b];
    };
    const locations: LatLng[] = [];
    const locIndex = new Map<string, number>();
    const loc = (p: LatLng): number => {
      const key = `${p.lat},${p.lng}`;
      let i = locIndex.get(key);
      if (i === undefined) {
        i = locations.length;
        locations.push({ lat: p.lat, lng: p.lng });
        locIndex.set(key, i);
      }
      return i;
    };
    const nodes: RoutingNode[] = [];
    const refs: NodeRef[] = [];
    const add = (ref: NodeRef, node: Omit<RoutingNode, 'id' | 'x' | 'y'>): number => {
      const i = nodes.length;
      const p = locations[ref.loc]!;
      nodes.push({ id: i, x: p.lng, y: p.lat, ...node });
      refs.push(ref);
      return i;
    };
    const vehicleIds = new Set<string>();
    const vehicles: RoutingVehicle[] = body.vehicles.map((v, vi) => {
      if (vehicleIds.has(v.id)) throw invalid(`vehicle id ${v.id} appears twice`, `/vehicles/${vi}/id`);
      vehicleIds.add(v.id);
      const [ready, due] = window(v.shift, `/vehicles/${vi}/shift`);
      const start = add({ kind: 'start', vehicle: vi, loc: loc(v.start) }, { demand: 0, ready, due, service: 0, kind: 'depot', sibling: -1 });
      const end = add({ kind: 'end', vehicle: vi, loc: loc(v.end ?? v.start) }, { demand: 0, ready, due, service: 0, kind: 'depot', sibling: -1 });
      const reloads: number[] = [];
      for (let t = 1; t < (v.maxTrips ?? 1); t++) reloads.push(add({ kind: 'reload', vehicle: vi, loc: loc(v.start) }, { demand: 0, ready, due, service: v.reloadS ?? 300, kind: 'reload', sibling: -1 }));
      return { start, end, capacity: v.capacity, ready, due, ...(v.skills ? { skills: v.skills } : {}), fixed: [], reloads };
    });
    const jobNodes = new Map<string, { single?: number; pickup?: number; dropoff?: number }>();
    body.jobs.forEach((job, ji) => {
      if (jobNodes.has(job.id)) throw invalid(`job id ${job.id} appears twice`, `/jobs/${ji}/id`);
      const skills = job.skills?.length ? { skills: job.skills } : {};
      const q = job.demand ?? 1;
      if (job.type === 'delivery') {
        const [ready, due] = window(job.window, `/jobs/${ji}/window`);
        const i = add({ kind: 'delivery', job: job.id, loc: loc(job.location) }, { demand: q, ready, due, service: job.serviceS ?? 0, kind: 'single', sibling: -1, ...skills });
        jobNodes.set(job.id, { single: i });
      } else {
        const [pr, pd] = window(job.pickup.window, `/jobs/${ji}/pickup/window`);
        const [dr, dd] = window(job.delivery.window, `/jobs/${ji}/delivery/window`);
        const p = add({ kind: 'pickup', job: job.id, loc: loc(job.pickup.location) }, { demand: q, ready: pr, due: pd, service: job.pickup.serviceS ?? 0, kind: 'pickup', sibling: -1, ...skills });
        const d = add({ kind: 'dropoff', job: job.id, loc: loc(job.delivery.location) }, { demand: -q, ready: dr, due: dd, service: job.delivery.serviceS ?? 0, kind: 'delivery', sibling: p, ...skills });
        nodes[p]!.sibling = d;
        jobNodes.set(job.id, { pickup: p, dropoff: d });
      }
    });
    // started steps: pinned first, in order, on their vehicle
    const pinned = new Set<number>();
    body.vehicles.forEach((v, vi) => {
      const fixed = vehicles[vi]!.fixed!;
      (v.steps ?? []).forEach((step, si) => {
        const path = `/vehicles/${vi}/steps/${si}`;
        const j = jobNodes.get(step.job);
        if (!j) throw invalid(`step names job ${step.job}, which is not in jobs`, path);
        let node: number;
        if (j.single !== undefined) {
          if (step.type === 'pickup') throw invalid(`job ${step.job} is a delivery: it has no pickup step`, path);
          node = j.single;
        } else {
          if (!step.type) throw invalid(`job ${step.job} is a shipment: say which half (type pickup or delivery)`, path);
          node = step.type === 'pickup' ? j.pickup! : j.dropoff!;
          if (step.type === 'delivery' && !fixed.includes(j.pickup!)) throw invalid(`the delivery of shipment ${step.job} is listed without its pickup before it`, path);
        }
        if (pinned.has(node)) throw invalid(`step ${step.type ?? 'delivery'} of job ${step.job} is listed twice`, path);
        const lacks = (nodes[node]!.skills ?? []).filter((x) => !(v.skills ?? []).includes(x));
        if (lacks.length) throw invalid(`job ${step.job} needs skills ${lacks.join(', ')} that vehicle ${v.id} lacks`, path);
        pinned.add(node);
        fixed.push(node);
      });
      // a started shipment whose delivery is not listed: it follows the started steps on the same vehicle
      for (const x of [...fixed]) {
        if (nodes[x]!.kind === 'pickup' && !pinned.has(nodes[x]!.sibling)) {
          pinned.add(nodes[x]!.sibling);
          fixed.push(nodes[x]!.sibling);
        }
      }
      // what the started steps carry must fit: deliveries ride from the start, shipments from pickup to delivery
      let load = fixed.reduce((a, x) => a + (nodes[x]!.kind === 'single' ? nodes[x]!.demand : 0), 0);
      let peak = load;
      for (const x of fixed) {
        load += nodes[x]!.kind === 'single' ? -nodes[x]!.demand : nodes[x]!.demand;
        peak = Math.max(peak, load);
      }
      if (peak > v.capacity) throw invalid(`the started steps of vehicle ${v.id} carry ${peak} at once, its capacity is ${v.capacity}`, `/vehicles/${vi}/steps`);
      if (!fixed.length) delete vehicles[vi]!.fixed;
    });
    return { nodes, refs, vehicles, locations, t0 };
  }

  private answer(body: PlanBody, built: ReturnType<RoutePlanner['build']>, problem: RoutingProblem, matrix: TravelMatrix, routes: number[][], unassignedIds: number[], timeMs: number): PlanAnswer {
    const { nodes, refs, locations, t0 } = built;
    const k = locations.length;
    const iso = (s: number): string => new Date(t0 + Math.round(s * 1000)).toISOString();
    const out: PlanAnswer['routes'] = [];
    let totalS = 0;
    let totalM = 0;
    routes.forEach((route, vi) => {
      const vehicle = problem.vehicles![vi]!;
      if (!route.some((x) => nodes[x]!.kind !== 'reload')) return;
      const fixed = new Set(vehicle.fixed ?? []);
      // goods for deliveries are loaded at the start of each trip
      const tripGoods = (from: number): number => {
        let q = 0;
        for (let p = from; p < route.length && nodes[route[p]!]!.kind !== 'reload'; p++) if (nodes[route[p]!]!.kind === 'single') q += nodes[route[p]!]!.demand;
        return q;
      };
      let load = tripGoods(0);
      let t = vehicle.ready;
      let at = vehicle.start;
      let travelS = 0;
      let distanceM = 0;
      let trips = 1;
      const where = (i: number): LatLng => locations[refs[i]!.loc]!;
      const steps: PlanAnswer['routes'][number]['steps'] = [{ type: 'start', location: where(at), arrival: iso(t), serviceStart: iso(t), departure: iso(t), load }];
      const drive = (to: number): number => {
        const s = matrix.durations[refs[at]!.loc * k + refs[to]!.loc]!;
        travelS += s;
        distanceM += matrix.distances[refs[at]!.loc * k + refs[to]!.loc]!;
        return s;
      };
      route.forEach((x, pos) => {
        const node = nodes[x]!;
        const arrival = t + drive(x);
        const start = Math.max(arrival, node.ready);
        t = start + node.service;
        if (node.kind === 'single') load -= node.demand;
        else if (node.kind === 'reload') {
          load += tripGoods(pos + 1);
          trips++;
        } else load += node.demand;
        const ref = refs[x]!;
        steps.push({ type: ref.kind as 'delivery', ...(ref.job ? { job: ref.job } : {}), location: where(x), arrival: iso(arrival), serviceStart: iso(start), departure: iso(t), load, ...(fixed.has(x) ? { fixed: true } : {}) });
        at = x;
      });
      const back = t + drive(vehicle.end);
      steps.push({ type: 'end', location: where(vehicle.end), arrival: iso(back), serviceStart: iso(back), departure: iso(back), load });
      totalS += travelS;
      totalM += distanceM;
      out.push({ vehicle: body.vehicles[vi]!.id, steps, trips, travelS, distanceM });
    });
    const unassigned = this.reasons(problem, unassignedIds.filter((i) => nodes[i]!.kind !== 'delivery').map((i) => ({ node: i, job: refs[i]!.job! })));
    return { routes: out, unassigned, cost: { travelS: totalS, distanceM: totalM, vehicles: out.length }, matrix: matrix.source, timeMs };
  }

  /** Why a job was left out: what no vehicle offers it, tried alone on each. */
  private reasons(problem: RoutingProblem, jobs: { node: number; job: string }[]): PlanAnswer['unassigned'] {
    if (jobs.length === 0) return [];
    const inst = new Instance(problem);
    return jobs.map(({ node, job }) => {
      const request = inst.requests[inst.requestOfNode[node]!]!;
      const able = inst.vehicles.map((_, v) => v).filter((v) => inst.canServe(v, node));
      if (able.length === 0) return { job, reason: 'skills' as const };
      const roomy = able.filter((v) => Math.abs(inst.demand[node]!) <= inst.vehicles[v]!.capacity);
      if (roomy.length === 0) return { job, reason: 'capacity' as const };
      const alone = roomy.some((v) => bestInsertion(inst, new Route(v, inst), request).cost < Infinity);
      return { job, reason: alone ? ('no_room' as const) : ('time_window' as const) };
    });
  }
}
