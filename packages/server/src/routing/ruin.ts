import type { Instance, Route } from './insertion.js';

/** A plan during the search: routes, the requests left out, and its weighted cost. */
export interface Solution {
  routes: Route[];
  unassigned: number[];
  cost: number;
}

/**
 * Takes requests out of a plan (into `unassigned`), both halves of a pair; reload stops and started steps stay.
 * Removing visits never breaks a window or the capacity, so the routes stay feasible. The routes are changed in
 * place: callers pass a plan whose routes they own (the search's string ruin, sisr.ts, works copy-on-write instead).
 */
export function removeRequests(inst: Instance, s: Solution, reqs: Iterable<number>): void {
  const drop = new Set<number>();
  for (const r of reqs) {
    if (r < 0 || inst.fixedRequest[r]) continue;
    for (const node of inst.requests[r]!) drop.add(node);
    s.unassigned.push(r);
  }
  for (const route of s.routes) {
    const before = route.nodes.length;
    route.nodes = route.nodes.filter((x) => !drop.has(x));
    if (route.nodes.length !== before) route.update(inst);
  }
}
