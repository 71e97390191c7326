import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Endpoint, ServiceName } from '@infra/core';

/** What a running stack leaves on disk so `status`, `down` and `logs` can find it. */
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

export function stateFile(dataDir: string): string {
  return join(dataDir, 'run', 'stack.json');
}

export function logFile(dataDir: string): string {
  return join(dataDir, 'logs', 'infra.log');
}

export function writeState(dataDir: string, state: StackState): void {
  const file = stateFile(dataDir);
  mkdirSync(dirname(file), { recursive: true });
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

/** The state of a live stack, or undefined (a state file left by a dead process is removed). */
export function readState(dataDir: string): StackState | undefined {
  const file = stateFile(dataDir);
  if (!existsSync(file)) return undefined;
  let state: StackState;
  try {
    state = JSON.parse(readFileSync(file, 'utf8')) as StackState;
  } catch {
    return undefined;
  }
  if (!isAlive(state.pid)) {
    rmSync(file, { force: true });
    return undefined;
  }
  return state;
}

export function removeState(dataDir: string, pid: number): void {
  const file = stateFile(dataDir);
  try {
    const state = JSON.parse(readFileSync(file, 'utf8')) as StackState;
    if (state.pid === pid) rmSync(file, { force: true });
  } catch {
    // already gone
  }
}
