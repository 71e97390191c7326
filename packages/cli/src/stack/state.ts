import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoint, ServiceName } from '@infra/core';

/**
 * What a running `infra up` process leaves on disk so `status`, `down` and `logs` can find it.
 * One file per process, named by the pillars it runs (`run/broker+media+server.json`), so the
 * processes of a scaled-out stack (`infra up --only broker`, `infra up --only server,media`)
 * can share one stack directory.
 */
export interface StackState {
  name: string;
  pid: number;
  dir: string;
  startedAt: string;
  readyMs: number;
  host: string;
  services: ServiceName[];
  endpoints: Record<string, Endpoint[]>;
  adminToken: string;
  logFile: string;
}

export function runDir(dataDir: string): string {
  return join(dataDir, 'run');
}

export function stateFile(dataDir: string, services: readonly ServiceName[]): string {
  return join(runDir(dataDir), `${[...services].sort().join('+')}.json`);
}

export function logFile(dataDir: string): string {
  return join(dataDir, 'logs', 'infra.log');
}

export function writeState(dataDir: string, state: StackState): void {
  const file = stateFile(dataDir, state.services);
  mkdirSync(runDir(dataDir), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2), { mode: 0o600 });
  renameSync(tmp, file);
}

/** True while the process runs; an exited process its parent has not reaped yet (a zombie) counts as gone. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // /proc/<pid>/stat: "pid (comm) S ..." — the state letter follows the last ')'
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs (macOS): the signal check is all we have
  }
}

/** Every live `infra up` process of this data dir, oldest first; files left by dead processes are removed. */
export function readStates(dataDir: string): StackState[] {
  const dir = runDir(dataDir);
  if (!existsSync(dir)) return [];
  const states: StackState[] = [];
  for (const f of readdirSync(dir)) {
    if (!f.endsWith('.json')) continue;
    const file = join(dir, f);
    let state: StackState;
    try {
      state = JSON.parse(readFileSync(file, 'utf8')) as StackState;
    } catch {
      continue; // being written (rename is atomic, so only a foreign file lands here)
    }
    if (isAlive(state.pid)) states.push(state);
    else rmSync(file, { force: true });
  }
  return states.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

export function removeState(dataDir: string, state: Pick<StackState, 'pid' | 'services'>): void {
  const file = stateFile(dataDir, state.services);
  try {
    if ((JSON.parse(readFileSync(file, 'utf8')) as StackState).pid === state.pid) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
