import type { Kysely } from 'kysely';
import type { Logger } from '@infra/core';
import { riderStore, type FixRow, type RiderDb } from './store.js';

export interface HistoryStats {
  /** rows written to rider_fixes */
  persisted: number;
  /** write transactions (one per batch) */
  batches: number;
  /** fixes that never reached SQL because the buffer was full */
  bufferDropped: number;
}

/**
 * The GPS history writer: fixes are buffered and written to rider_fixes in one transaction per batch of
 * `flushBatch` (as soon as a batch is full, and the rest on every `flush(true)`), never one insert per fix. The buffer
 * is bounded: when SQL falls behind, the oldest unwritten history is given up (counted), never the live position.
 */
export class FixHistory {
  private buffer: FixRow[] = [];
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly db: Kysely<any>,
    private readonly flushBatch: number,
    private readonly bufferMax: number,
    private readonly stats: HistoryStats,
    private readonly log?: Logger,
  ) {}

  push(row: FixRow): void {
    if (this.closed) return;
    if (this.buffer.length >= this.bufferMax) {
      const drop = this.buffer.length - this.bufferMax + 1;
      this.buffer.splice(0, drop);
      this.stats.bufferDropped += drop;
    }
    this.buffer.push(row);
    if (this.buffer.length >= this.flushBatch && !this.flushing) void this.flush(false);
  }

  /** Writes full batches; `all` also writes the last partial one. One writer at a time; a second caller waits for it. */
  flush(all: boolean): Promise<void> {
    if (this.flushing) return all ? this.flushing.then(() => this.flush(true)) : this.flushing;
    if (this.buffer.length === 0 || (!all && this.buffer.length < this.flushBatch)) return Promise.resolve();
    // `.finally` runs asynchronously, so `flushing` is always set before it is cleared (a synchronous clear before
    // the assignment would leave a settled promise behind and make every later flush(true) chain on it forever)
    const run: Promise<void> = this.write(all).finally(() => {
      if (this.flushing === run) this.flushing = undefined;
    });
    this.flushing = run;
    return run;
  }

  private async write(all: boolean): Promise<void> {
    while (this.buffer.length && (all || this.buffer.length >= this.flushBatch)) {
      const batch = this.buffer.splice(0, this.flushBatch);
      try {
        await this.db.transaction().execute((trx) => riderStore.insertFixes(trx as RiderDb, batch));
        this.stats.batches++;
        this.stats.persisted += batch.length;
      } catch (err) {
        this.log?.error({ err: (err as Error).message, fixes: batch.length }, 'writing fixes failed; kept for the next tick');
        this.buffer.unshift(...batch.slice(0, Math.max(0, this.bufferMax - this.buffer.length)));
        return;
      }
    }
  }

  /** Writes everything buffered; later pushes are ignored. */
  async close(): Promise<void> {
    await this.flush(true);
    this.closed = true;
  }
}
