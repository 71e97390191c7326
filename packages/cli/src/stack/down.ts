import { loadConfig } from '@infra/core';
import { isAlive, readState } from './state.js';

/** Sends SIGTERM to the stack's process and waits for it to drain and exit (SIGKILL after the timeout). */
export async function stopStack(opts: { dir: string; set: string[]; timeoutMs?: number }): Promise<{ stopped: boolean; pid: number | null }> {
  const loaded = loadConfig({ dir: opts.dir, set: opts.set });
  const state = readState(loaded.dataDir);
  if (!state) return { stopped: false, pid: null };
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  while (isAlive(state.pid)) {
    if (Date.now() > deadline) {
      process.kill(state.pid, 'SIGKILL');
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { stopped: true, pid: state.pid };
}
