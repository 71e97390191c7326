import type { EventBus, Logger } from '@infra/core';
import { outboxStore, type OutboxDb } from './store.js';

/**
 * Publishes committed outbox rows through the bus, oldest first, one entity's rows one at a time, so events of
 * one entity arrive in order. A row is marked published only after the bus accepted it: a crash in
 * between publishes it again (at-least-once). Without a bus (broker elsewhere) rows wait.
 */
export class OutboxRelay {
  private running = false;
  private again = false;
  private closed = false;
  private retry: NodeJS.Timeout | undefined;

  constructor(
    private readonly db: OutboxDb,
    private readonly bus: EventBus | undefined,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
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
      for (;;) {
        const rows = await outboxStore.pending(this.db, 200);
        if (rows.length === 0 || this.closed) return;
        // Each entity's rows in order, one after another; different entities side by side, so the broker can store
        // a batch of grants in one commit. Then the batch is booked in one statement; a crash in between republishes it.
        const chains = new Map<string, typeof rows>();
        for (const r of rows) {
          const chain = chains.get(r.entity);
          if (chain) chain.push(r);
          else chains.set(r.entity, [r]);
        }
        const done: number[] = [];
        const results = await Promise.allSettled([...chains.values()].map(async (chain) => {
          for (const r of chain) {
            await bus.publish(r.topic, r.payload, { qos: 1 });
            done.push(r.id);
          }
        }));
        await outboxStore.markPublished(this.db, done, this.now());
        const failed = results.find((x): x is PromiseRejectedResult => x.status === 'rejected');
        if (failed) throw failed.reason;
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
