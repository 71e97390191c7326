import type { Kysely } from 'kysely';
import type { Logger } from '@infra/core';
import { FIX_COLUMNS, riderStore, type FixRow, type RiderDb } from './store.js';
import { FixWriterThread } from './history-writer.js';

export interface HistoryStats {
  /** rows written to rider_fixes */
  persisted: number;
  /** write transactions (one per batch) */
  batches: number;
  /** fixes that never reached SQL because the buffer was full */
  bufferDropped: number;
}

/** numbers per fix in a batch: rider_fixes' columns after rider_id, in FIX_COLUMNS order */
const FIX_NUMERIC_WIDTH = FIX_COLUMNS.length - 1;

/**
 * Up to `ids.length` fixes in columns: rider ids, and per fix FIX_NUMERIC_WIDTH numbers (ts, lat, lng, speed,
 * heading, accuracy, flagged, received_at; NaN for NULL). No object per fix: at 20,000 fixes/s the row objects
 * and the array shuffling around them were a measurable part of ingesting a fix.
 */
export class FixBatch {
  readonly ids: string[];
  readonly nums: Float64Array;
  n = 0;

  constructor(capacity: number) {
    this.ids = new Array<string>(capacity);
    this.nums = new Float64Array(capacity * FIX_NUMERIC_WIDTH);
  }

  get full(): boolean {
    return this.n === this.ids.length;
  }

  rows(): FixRow[] {
    const out: FixRow[] = [];
    const v = (x: number): number | null => (Number.isNaN(x) ? null : x);
    for (let i = 0; i < this.n; i++) {
      const k = i * FIX_NUMERIC_WIDTH;
      const m = this.nums;
      out.push({ rider_id: this.ids[i]!, ts: m[k]!, lat: m[k + 1]!, lng: m[k + 2]!, speed: v(m[k + 3]!), heading: v(m[k + 4]!), accuracy: v(m[k + 5]!), flagged: m[k + 6]!, received_at: m[k + 7]! });
    }
    return out;
  }
}

/**
 * The GPS history writer: fixes are buffered and written to rider_fixes in one transaction per batch of
 * `flushBatch` (as soon as a batch is full, and the rest on every `flush(true)`), never one insert per fix. The buffer
 * is bounded: when SQL falls behind, the oldest unwritten history is given up (counted, a whole waiting batch at a
 * time), never the live position. Given the database file, batches are written by a thread of their own
 * (history-writer.ts), off the event loop; without it, through `db` on this thread.
 */
export class FixHistory {
  /** being filled */
  private open: FixBatch;
  /** full, waiting for the writer, oldest first */
  private readonly waiting: FixBatch[] = [];
  private waitingFixes = 0;
  private readonly capacity: number;
  private flushing: Promise<void> | undefined;
  private closed = false;
  private readonly thread: FixWriterThread | undefined;

  constructor(
    private readonly db: Kysely<any>,
    flushBatch: number,
    private readonly bufferMax: number,
    private readonly stats: HistoryStats,
    private readonly log?: Logger,
    file?: string,
  ) {
    // a batch never holds more than the buffer may
    this.capacity = Math.max(1, Math.min(flushBatch, bufferMax));
    this.open = new FixBatch(this.capacity);
    this.thread = file ? new FixWriterThread(file, riderStore.insertFixSql(db as RiderDb)) : undefined;
  }

  /** Buffers one fix (speed, heading, accuracy: undefined for NULL). */
  push(riderId: string, ts: number, lat: number, lng: number, speed: number | undefined, heading: number | undefined, accuracy: number | undefined, flagged: boolean, receivedAt: number): void {
    if (this.closed) return;
    const b = this.open;
    const k = b.n * FIX_NUMERIC_WIDTH;
    const m = b.nums;
    b.ids[b.n++] = riderId;
    m[k] = ts;
    m[k + 1] = lat;
    m[k + 2] = lng;
    m[k + 3] = speed ?? NaN;
    m[k + 4] = heading ?? NaN;
    m[k + 5] = accuracy ?? NaN;
    m[k + 6] = flagged ? 1 : 0;
    m[k + 7] = receivedAt;
    if (!b.full) return;
    this.seal();
    if (!this.flushing) void this.flush(false);
  }

  private seal(): void {
    const b = this.open;
    this.open = new FixBatch(this.capacity);
    this.queue(b, false);
  }

  /** Appends (or, after a failed write, puts back first) a batch, giving up the oldest beyond bufferMax. */
  private queue(b: FixBatch, first: boolean): void {
    if (first) this.waiting.unshift(b);
    else this.waiting.push(b);
    this.waitingFixes += b.n;
    while (this.waitingFixes + this.open.n > this.bufferMax && this.waiting.length) {
      const dropped = this.waiting.shift()!;
      this.waitingFixes -= dropped.n;
      this.stats.bufferDropped += dropped.n;
    }
  }

  /** Writes full batches; `all` also writes the last partial one. One writer at a time; a second caller waits for it. */
  flush(all: boolean): Promise<void> {
    if (this.flushing) return all ? this.flushing.then(() => this.flush(true)) : this.flushing;
    if (all && this.open.n > 0) this.seal();
    if (this.waiting.length === 0) return Promise.resolve();
    // `.finally` runs asynchronously, so `flushing` is always set before it is cleared (a synchronous clear before
    // the assignment would leave a settled promise behind and make every later flush(true) chain on it forever)
    const run: Promise<void> = this.write().finally(() => {
      if (this.flushing === run) this.flushing = undefined;
    });
    this.flushing = run;
    return run;
  }

  private async write(): Promise<void> {
    for (let batch = this.waiting.shift(); batch; batch = this.waiting.shift()) {
      this.waitingFixes -= batch.n;
      try {
        const b = batch;
        // The thread's commit holds `db`'s connection meanwhile: a transaction of this process that read before the
        // thread committed and wrote after it would be refused (SQLITE_BUSY_SNAPSHOT, measured), so none may be open
        // then. Queries wait for the connection; the event loop does not.
        const thread = this.thread;
        await (thread ? this.db.connection().execute(() => thread.write(b.ids, b.nums, b.n)) : this.db.transaction().execute((trx) => riderStore.insertFixes(trx as RiderDb, b.rows())));
        this.stats.batches++;
        this.stats.persisted += batch.n;
      } catch (err) {
        this.log?.error({ err: (err as Error).message, fixes: batch.n }, 'writing fixes failed; kept for the next tick');
        this.queue(batch, true);
        return;
      }
    }
  }

  /** Writes everything buffered; later pushes are ignored. */
  async close(): Promise<void> {
    await this.flush(true);
    this.closed = true;
    await this.thread?.close();
  }
}
