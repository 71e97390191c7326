import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { InfraError, isRole, parseDuration, roles as knownRoles, type ErrorDetail, type Role } from '@infra/core';

/** A transition as declared: `from` may list several states. */
export interface FlowTransition {
  event: string;
  from: string[];
  to: string;
  roles: Role[];
  guard?: string;
  actions: string[];
  line: number;
}

export interface FlowState {
  final: boolean;
  /** raise an exception of type `raise` when the entity stays longer than `afterMs` */
  timeout?: { afterMs: number; raise: string };
}

export interface FlowDefinition {
  name: string;
  file: string;
  initial: string;
  states: Record<string, FlowState>;
  transitions: FlowTransition[];
}

/** Actions and guards the engine knows; a flow naming anything else is refused at start. */
export const knownActions = ['release_stock', 'ship_stock', 'record_payment'] as const;
export const knownGuards = ['payment_recorded'] as const;
export type FlowAction = (typeof knownActions)[number];
export type FlowGuard = (typeof knownGuards)[number];

const STATE_KEYS = new Set(['final', 'timeout']);
const TRANSITION_KEYS = new Set(['event', 'from', 'to', 'roles', 'guard', 'actions']);
const TOP_KEYS = new Set(['flow', 'initial', 'states', 'transitions']);

/** Parses and validates one flow file; every problem is listed with file:line. */
export function parseFlow(text: string, file: string): FlowDefinition {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const errors: ErrorDetail[] = [];
  const lineOf = (node: unknown): number => {
    const range = (node as Node | undefined)?.range;
    return range ? lc.linePos(range[0]).line : 1;
  };
  const fail = (node: unknown, message: string): void => {
    errors.push({ file, line: lineOf(node), message });
  };
  for (const e of doc.errors) errors.push({ file, line: e.linePos?.[0]?.line ?? 1, message: e.message });
  if (errors.length) throw invalid(file, errors);
  const root = doc.contents;
  if (!isMap(root)) throw invalid(file, [{ file, line: 1, message: 'a flow is a mapping with flow, initial, states, transitions' }]);

  for (const pair of root.items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    if (!TOP_KEYS.has(key)) fail(pair.key, `unknown key "${key}" (known: ${[...TOP_KEYS].join(', ')})`);
  }
  const nameNode = root.get('flow', true);
  const name = isScalar(nameNode) ? String(nameNode.value) : '';
  if (!/^[a-z][a-z0-9_]*$/.test(name)) fail(nameNode ?? root, 'flow: expected a lower_snake name');

  const states: Record<string, FlowState> = {};
  const stateLines = new Map<string, unknown>();
  const statesNode = root.get('states', true);
  if (!isMap(statesNode) || statesNode.items.length === 0) fail(statesNode ?? root, 'states: expected a mapping of state names');
  else {
    for (const pair of statesNode.items) {
      const sname = isScalar(pair.key) ? String(pair.key.value) : '';
      stateLines.set(sname, pair.key);
      const st: FlowState = { final: false };
      const body = pair.value;
      if (body !== null && body !== undefined && !(isScalar(body) && body.value === null)) {
        if (!isMap(body)) fail(body, `state ${sname}: expected a mapping`);
        else {
          for (const p of body.items) {
            const k = isScalar(p.key) ? String(p.key.value) : '';
            if (!STATE_KEYS.has(k)) fail(p.key, `state ${sname}: unknown key "${k}" (known: final, timeout)`);
          }
          st.final = body.get('final') === true;
          const t = body.get('timeout', true);
          if (t !== undefined) {
            const after = isMap(t) ? t.get('after') : undefined;
            const raise = isMap(t) ? t.get('raise') : undefined;
            if (typeof after !== 'string' || typeof raise !== 'string' || !/^[0-9]+[smhd]$/.test(after)) fail(t, `state ${sname}: timeout needs { after: <30m|48h|…>, raise: <exception type> }`);
            else st.timeout = { afterMs: parseDuration(after) * 1000, raise };
          }
        }
      }
      states[sname] = st;
    }
  }

  const initialNode = root.get('initial', true);
  const initial = isScalar(initialNode) ? String(initialNode.value) : '';
  if (!(initial in states)) fail(initialNode ?? root, `initial: unknown state "${initial}"`);

  const transitions: FlowTransition[] = [];
  const seen = new Map<string, number>();
  const trNode = root.get('transitions', true);
  if (!isSeq(trNode)) fail(trNode ?? root, 'transitions: expected a list');
  else {
    for (const item of trNode.items) {
      const line = lineOf(item);
      if (!isMap(item)) {
        fail(item, 'transition: expected { event, from, to, roles }');
        continue;
      }
      for (const p of item.items) {
        const k = isScalar(p.key) ? String(p.key.value) : '';
        if (!TRANSITION_KEYS.has(k)) fail(p.key, `transition: unknown key "${k}" (known: ${[...TRANSITION_KEYS].join(', ')})`);
      }
      const event = item.get('event');
      const fromRaw = item.get('from', true);
      const from = isSeq(fromRaw) ? fromRaw.items.map((x) => String(isScalar(x) ? x.value : '')) : isScalar(fromRaw) ? [String(fromRaw.value)] : [];
      const to = item.get('to');
      const rolesNode = item.get('roles', true);
      const roles = isSeq(rolesNode) ? rolesNode.items.map((x) => String(isScalar(x) ? x.value : '')) : [];
      const guard = item.get('guard');
      const actionsNode = item.get('actions', true);
      const actions = isSeq(actionsNode) ? actionsNode.items.map((x) => String(isScalar(x) ? x.value : '')) : [];
      if (typeof event !== 'string' || !/^[a-z][a-z0-9_]*$/.test(event)) fail(item, 'transition: event must be a lower_snake name');
      if (from.length === 0) fail(item, `transition ${String(event)}: from is missing`);
      for (const f of from) if (!(f in states)) fail(fromRaw, `transition ${String(event)}: unknown state "${f}" in from`);
      if (typeof to !== 'string' || !(to in states)) fail(item.get('to', true) ?? item, `transition ${String(event)}: unknown state "${String(to)}" in to`);
      if (roles.length === 0) fail(item, `transition ${String(event)}: roles is missing (who may fire it)`);
      for (const r of roles) if (!isRole(r)) fail(rolesNode, `transition ${String(event)}: unknown role "${r}" (${knownRoles.join(', ')})`);
      for (const a of actions) if (!(knownActions as readonly string[]).includes(a)) fail(actionsNode, `transition ${String(event)}: unknown action "${a}" (known: ${knownActions.join(', ')})`);
      if (guard !== undefined && !(knownGuards as readonly string[]).includes(String(guard))) fail(item.get('guard', true), `transition ${String(event)}: unknown guard "${String(guard)}" (known: ${knownGuards.join(', ')})`);
      for (const f of from) {
        const key = `${String(event)}@${f}`;
        const first = seen.get(key);
        if (first !== undefined) fail(item, `duplicate transition: event ${String(event)} from ${f} is already declared at line ${first}`);
        else seen.set(key, line);
      }
      transitions.push({ event: String(event), from, to: String(to), roles: roles as Role[], ...(guard !== undefined ? { guard: String(guard) } : {}), actions, line });
    }
  }

  if (errors.length === 0) {
    const reach = new Set([initial]);
    const queue = [initial];
    while (queue.length) {
      const s = queue.shift()!;
      for (const t of transitions) if (t.from.includes(s) && !reach.has(t.to)) { reach.add(t.to); queue.push(t.to); }
    }
    for (const s of Object.keys(states)) if (!reach.has(s)) fail(stateLines.get(s), `state ${s} is unreachable from ${initial}`);
  }
  if (errors.length) throw invalid(file, errors);
  return { name, file, initial, states, transitions };
}

/** The message names the first problem as file:line; `details` lists every one (the CLI prints the rest). */
export function flowError(errors: ErrorDetail[]): InfraError {
  const first = errors[0]!;
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return new InfraError('INFRA_ERR_FLOW_INVALID', `${first.file}:${first.line}: ${first.message}${more}`, { details: errors });
}

function invalid(_file: string, errors: ErrorDetail[]): InfraError {
  return flowError(errors);
}

/** Loads every flows/*.yaml of a stack; all files are checked and all problems reported together. */
export function loadFlows(stackDir: string): Map<string, FlowDefinition> {
  const dir = join(stackDir, 'flows');
  const out = new Map<string, FlowDefinition>();
  if (!existsSync(dir)) return out;
  const details: ErrorDetail[] = [];
  for (const f of readdirSync(dir).filter((n) => /\.ya?ml$/.test(n)).sort()) {
    const file = join(dir, f);
    try {
      const def = parseFlow(readFileSync(file, 'utf8'), file);
      out.set(def.name, def);
    } catch (err) {
      if (err instanceof InfraError) details.push(...err.details);
      else throw err;
    }
  }
  if (details.length) throw flowError(details);
  return out;
}

/** The Mermaid stateDiagram of a flow, for `infra flows graph`. */
export function toMermaid(def: FlowDefinition): string {
  const lines = ['stateDiagram-v2', `  [*] --> ${def.initial}`];
  for (const t of def.transitions) for (const f of t.from) lines.push(`  ${f} --> ${t.to}: ${t.event} (${t.roles.join(', ')})`);
  for (const [s, st] of Object.entries(def.states)) {
    if (st.final) lines.push(`  ${s} --> [*]`);
    if (st.timeout) lines.push(`  note right of ${s}: after ${Math.round(st.timeout.afterMs / 1000)}s raises ${st.timeout.raise}`);
  }
  return lines.join('\n') + '\n';
}
