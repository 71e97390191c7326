import { InfraError } from '@infra/core/errors';
import type { RoutingNode, RoutingProblem } from './problem.js';

/**
 * Readers for the two text formats the routing literature publishes its benchmarks in:
 * Solomon VRPTW (a VEHICLE block with NUMBER and CAPACITY, then a CUSTOMER table whose first row is the depot)
 * and Li & Lim PDPTW (a first line `vehicles capacity speed`, then one task per line:
 * `id x y demand ready due service pickup delivery`, task 0 the depot; a pickup names its delivery and vice versa).
 */
export type InstanceFormat = 'solomon' | 'lilim';

function bad(source: string, line: number | undefined, message: string): InfraError {
  const where = line === undefined ? source : `${source}:${line}`;
  return new InfraError('INFRA_ERR_DISPATCH_BAD_INSTANCE', `${where}: ${message}`, { details: [{ message, file: source, ...(line === undefined ? {} : { line }) }] });
}

function numbers(line: string): number[] | undefined {
  const parts = line.trim().split(/\s+/);
  const out = parts.map(Number);
  return out.every((x) => Number.isFinite(x)) ? out : undefined;
}

export function detectFormat(text: string): InstanceFormat | undefined {
  if (/^\s*VEHICLE\b/m.test(text) && /^\s*CUSTOMER\b/m.test(text)) return 'solomon';
  const first = text.split(/\r?\n/).find((l) => l.trim() !== '');
  if (first && numbers(first)?.length === 3) return 'lilim';
  return undefined;
}

export function parseInstance(text: string, source = 'instance', name?: string): RoutingProblem {
  const format = detectFormat(text);
  if (format === 'solomon') return parseSolomon(text, source, name);
  if (format === 'lilim') return parseLiLim(text, source, name);
  throw bad(source, undefined, 'neither a Solomon VRPTW file (VEHICLE and CUSTOMER sections) nor a Li & Lim PDPTW file (first line: vehicles capacity speed)');
}

function checkNode(source: string, line: number, node: RoutingNode, capacity: number): void {
  if (node.ready > node.due) throw bad(source, line, `ready time ${node.ready} is after due date ${node.due}`);
  if (node.service < 0) throw bad(source, line, `negative service time ${node.service}`);
  if (Math.abs(node.demand) > capacity) throw bad(source, line, `demand ${node.demand} exceeds the vehicle capacity ${capacity}`);
}

export function parseSolomon(text: string, source = 'instance', name?: string): RoutingProblem {
  const lines = text.split(/\r?\n/);
  const title = lines.find((l) => l.trim() !== '')?.trim() ?? '';
  let fleet: number | undefined;
  let capacity: number | undefined;
  let inCustomers = false;
  const nodes: RoutingNode[] = [];
  const lineOf: number[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    if (/^NUMBER\s+CAPACITY/i.test(raw)) {
      const next = lines.slice(i + 1).findIndex((l) => l.trim() !== '');
      const vals = next < 0 ? undefined : numbers(lines[i + 1 + next]!);
      if (!vals || vals.length !== 2) throw bad(source, i + 2 + Math.max(next, 0), 'expected `NUMBER CAPACITY` values (two numbers) after the VEHICLE header');
      [fleet, capacity] = vals as [number, number];
      i += 1 + next;
      continue;
    }
    if (/^CUSTOMER\b/i.test(raw)) {
      inCustomers = true;
      continue;
    }
    if (!inCustomers || /^CUST/i.test(raw)) continue;
    const vals = numbers(raw);
    if (!vals || vals.length !== 7) throw bad(source, i + 1, `expected 7 numbers (CUST NO. XCOORD. YCOORD. DEMAND READY TIME DUE DATE SERVICE TIME), got "${raw}"`);
    const [id, x, y, demand, ready, due, service] = vals as [number, number, number, number, number, number, number];
    nodes.push({ id, x, y, demand, ready, due, service, kind: nodes.length === 0 ? 'depot' : 'single', sibling: -1 });
    lineOf.push(i + 1);
  }
  if (fleet === undefined || capacity === undefined) throw bad(source, undefined, 'no VEHICLE block with NUMBER and CAPACITY');
  if (!(fleet >= 1) || !Number.isInteger(fleet) || !(capacity > 0)) throw bad(source, undefined, `fleet ${fleet} and capacity ${capacity} must be a positive integer and a positive number`);
  if (nodes.length < 2) throw bad(source, undefined, 'the CUSTOMER table needs the depot row and at least one customer');
  const seen = new Set<number>();
  nodes.forEach((node, k) => {
    if (seen.has(node.id)) throw bad(source, lineOf[k], `customer number ${node.id} appears twice`);
    seen.add(node.id);
    if (k > 0 && node.demand < 0) throw bad(source, lineOf[k], `negative demand ${node.demand}`);
    checkNode(source, lineOf[k]!, node, capacity!);
  });
  return { name: name ?? title, format: 'solomon', capacity, fleetSize: fleet, nodes };
}

export function parseLiLim(text: string, source = 'instance', name?: string): RoutingProblem {
  const lines = text.split(/\r?\n/);
  let header: number[] | undefined;
  const rows: { vals: number[]; line: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.trim();
    if (raw === '') continue;
    const vals = numbers(raw);
    if (!header) {
      if (!vals || vals.length !== 3) throw bad(source, i + 1, 'the first line must be `vehicles capacity speed`');
      header = vals;
      continue;
    }
    if (!vals || vals.length !== 9) throw bad(source, i + 1, `expected 9 numbers (id x y demand ready due service pickup delivery), got "${raw}"`);
    rows.push({ vals, line: i + 1 });
  }
  if (!header) throw bad(source, undefined, 'empty file');
  const [fleet, capacity, speed] = header as [number, number, number];
  if (!(fleet >= 1) || !Number.isInteger(fleet) || !(capacity > 0) || !(speed > 0)) throw bad(source, 1, 'vehicles must be a positive integer, capacity and speed positive');
  if (rows.length < 3) throw bad(source, undefined, 'needs the depot (task 0) and at least one pickup/delivery pair');
  const indexOf = new Map<number, number>();
  rows.forEach((r, k) => {
    if (indexOf.has(r.vals[0]!)) throw bad(source, r.line, `task ${r.vals[0]} appears twice`);
    indexOf.set(r.vals[0]!, k);
  });
  if (rows[0]!.vals[0] !== 0) throw bad(source, rows[0]!.line, 'the first task must be the depot, id 0');
  const nodes: RoutingNode[] = rows.map(({ vals, line }, k) => {
    const [id, x, y, demand, ready, due, service, pickup, delivery] = vals as [number, number, number, number, number, number, number, number, number];
    if (k === 0) return { id, x, y, demand: 0, ready, due, service, kind: 'depot', sibling: -1 };
    const isPickup = pickup === 0;
    const siblingId = isPickup ? delivery : pickup;
    const sibling = indexOf.get(siblingId);
    if (siblingId === 0 || sibling === undefined || sibling === 0) throw bad(source, line, `task ${id} names ${isPickup ? 'delivery' : 'pickup'} ${siblingId}, which is not a task`);
    if (isPickup ? demand < 0 : demand > 0) throw bad(source, line, `task ${id}: a ${isPickup ? 'pickup' : 'delivery'} must have a ${isPickup ? 'non-negative' : 'non-positive'} demand, got ${demand}`);
    return { id, x, y, demand, ready, due, service, kind: isPickup ? 'pickup' : 'delivery', sibling };
  });
  nodes.forEach((node, k) => {
    const line = rows[k]!.line;
    checkNode(source, line, node, capacity);
    if (k === 0) return;
    const other = nodes[node.sibling]!;
    if (other.kind === node.kind || other.sibling !== k) throw bad(source, line, `task ${node.id} and task ${other.id} do not name each other as pickup and delivery`);
    if (node.kind === 'pickup' && other.demand !== -node.demand) throw bad(source, line, `pickup ${node.id} loads ${node.demand} but delivery ${other.id} unloads ${-other.demand}`);
  });
  return { name: name ?? source, format: 'lilim', capacity, fleetSize: fleet, nodes };
}
