import { InfraError, loadConfig } from '@infra/core';
import { loadFlows, parseFlow, toMermaid, type FlowDefinition } from '@infra/server/flows';

/** The stack's flows (every problem in every file is an INFRA_ERR_FLOW_INVALID with file:line details). */
export function stackFlows(dir: string, set: string[]): { stackDir: string; flows: Map<string, FlowDefinition> } {
  const loaded = loadConfig({ dir, set });
  return { stackDir: loaded.dir, flows: loadFlows(loaded.dir) };
}

export function describeFlows(flows: Map<string, FlowDefinition>): { flow: string; file: string; states: number; transitions: number; timeouts: number }[] {
  return [...flows.values()].map((f) => ({ flow: f.name, file: f.file, states: Object.keys(f.states).length, transitions: f.transitions.length, timeouts: Object.values(f.states).filter((s) => s.timeout).length }));
}

export function graphOf(flows: Map<string, FlowDefinition>, name: string): string {
  const def = flows.get(name);
  if (!def) throw new InfraError('INFRA_ERR_NOT_FOUND', `no flow named ${name} (known: ${[...flows.keys()].join(', ') || 'none'})`, { hint: 'flows live in <stack>/flows/*.yaml; the name is the `flow:` key' });
  return toMermaid(def);
}

export { parseFlow };
