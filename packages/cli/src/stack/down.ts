import { loadConfig } from '@infra/core';
import { isAlive, readStates } from './state.js';

/** Sends SIGTERM to every `infra up` process of the stack and waits for them to drain and exit (SIGKILL after the timeout). */
export async function stopStack(opts: { dir: string; set: string[]; timeoutMs?: number }): Promise<{ stopped: boolean; pids: number[] }> {
  const loaded = loadConfig({ dir: opts.dir, set: opts.set });
  const pids = readStates(loaded.dataDir).map((s) => s.pid);
  for (const pid of pids) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  for (const pid of pids) {
    while (isAlive(pid)) {
      if (Date.now() > deadline) {
        process.kill(pid, 'SIGKILL');
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return { stopped: pids.length > 0, pids };
}
