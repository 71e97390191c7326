import type { Kysely } from 'kysely';
import type { Logger } from '@infra/core';
import type { FlowEngine } from './engine.js';
import type { FlowDb } from './store.js';

type AnyDb = Kysely<any>;

export interface TimeoutSink {
  /** raise the exception (and any entity event) inside the sweep's transaction */
  (trx: AnyDb, due: { flow: string; entityId: string; state: string; raise: string }, now: number): Promise<void>;
}

/**
 * Sweeps entities whose state outlived its `timeout.after` and raises the declared exception once per
 * stay in that state (claimed by a conditional update, so two sweeps never raise it twice).
 */
export function startTimeoutSweeper(db: AnyDb, engine: FlowEngine, sink: TimeoutSink, opts: { intervalMs: number; log: Logger; onCommit: () => void; now?: () => number }): { stop(): Promise<void>; sweep(): Promise<number> } {
  const now = opts.now ?? Date.now;
  let busy: Promise<number> | undefined;
  const sweep = async (): Promise<number> => {
    let raised = 0;
    for (const due of await engine.dueTimeouts(db as FlowDb, now())) {
      const done = await db.transaction().execute(async (trx) => {
        if (!(await engine.claimTimeout(trx as FlowDb, due.flow, due.entityId, due.state))) return false;
        await sink(trx, due, now());
        return true;
      });
      if (done) raised++;
    }
    if (raised) opts.onCommit();
    return raised;
  };
  const timer = setInterval(() => {
    if (busy) return;
    busy = sweep().catch((err: Error) => { opts.log.warn({ err: err.message }, 'flow timeout sweep failed'); return 0; }).finally(() => { busy = undefined; });
  }, opts.intervalMs);
  timer.unref();
  return {
    sweep,
    async stop() {
      clearInterval(timer);
      await busy;
    },
  };
}
