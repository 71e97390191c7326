import type { EventBus, GroupCommit, Logger } from '@infra/core';
import { outboxStore, type OutboxDb, type OutboxRow } from './store.js';

/**
 * Publishes committed outbox rows through the bus, oldest first, one entity's rows one at a time, so events of
 * one entity arrive in order. The cursor (the last id published with every row before it) moves only after the
 * bus accepted the rows: a crash in between publishes them again (at-least-once). Without a bus (broker elsewhere)
 * rows wait.
 */
export class OutboxRelay {
  private running = false;
  private again = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;
  /** rows above the cursor already published (in a batch where another entity's publish failed): not sent twice by this process */
  private readonly sentAhead = new Set<number>();

  constructor(
    private readonly db: OutboxDb,
    private readonly bus: EventBus | undefined,
    private readonly log: Logger,
    /** the database's grouped writes: the cursor moves in the same commit as writes arriving meanwhile */
    private readonly writes?: GroupCommit<any>,
  ) {}

  /** Call after a commit that wrote outbox rows. */
  kick(): void {
    if (!this.bus || this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void this.drain().finally(() => {
      this.running = false;
      if (this.again && !this.closed) {
        this.again = false;
        this.kick();
      }
    });
  }

  private async drain(): Promise<void> {
    const bus = this.bus!;
    try {
      let cursor = await outboxStore.cursor(this.db);
      for (;;) {
        const rows = await outboxStore.pending(this.db, cursor, 200);
        if (rows.length === 0 || this.closed) return;
        // Each entity's rows in order, one after another; different entities side by side, so the broker can store
        // a batch of grants in one commit. Then the cursor moves past every row published with all before it, in one
        // statement; a crash in between publishes those rows again.
        const chains = new Map<string, OutboxRow[]>();
        for (const r of rows) {
          const chain = chains.get(r.entity);
          if (chain) chain.push(r);
          else chains.set(r.entity, [r]);
        }
        let failure: { id: number; err: unknown } | undefined; // the earliest row whose publish failed
        const sent: number[] = [];
        await Promise.all([...chains.values()].map(async (chain) => {
          for (const r of chain) {
            if (this.sentAhead.has(r.id)) continue;
            try {
              await bus.publish(r.topic, r.payload, { qos: 1 });
              sent.push(r.id);
            } catch (err) {
              if (!failure || r.id < failure.id) failure = { id: r.id, err };
              return; // this entity's later rows wait behind it
            }
          }
        }));
        const to = failure ? failure.id - 1 : rows[rows.length - 1]!.id;
        if (to > cursor) {
          await (this.writes ? this.writes.run((trx) => outboxStore.advance(trx as OutboxDb, to)) : outboxStore.advance(this.db, to));
          cursor = to;
        }
        if (this.sentAhead.size) for (const id of this.sentAhead) if (id <= cursor) this.sentAhead.delete(id);
        if (failure) {
          // what went out beyond the cursor is remembered, so the retry does not send it twice
          for (const id of sent) if (id > cursor) this.sentAhead.add(id);
          throw failure.err;
        }
      }
    } catch (err) {
      if (this.closed) return;
      this.log.warn({ err: (err as Error).message }, 'outbox relay failed; retrying');
      clearTimeout(this.retry);
      this.retry = setTimeout(() => this.kick(), 1000);
    }
  }

  /** Resolves once the relay is idle (for an orderly close). */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.retry);
    while (this.running) await new Promise((r) => setTimeout(r, 10));
  }
}
