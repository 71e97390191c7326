import { Worker } from 'node:worker_threads';
import { FIX_COLUMNS } from './store.js';

/**
 * Writes batches of fixes to rider_fixes from a worker thread with its own connection to the database file, so the
 * B-tree inserts and the commit (10-20 ms for 2,000 fixes over 1,000 riders, measured) never hold the event loop that
 * relays the fixes to their subscribers. The worker runs one prepared INSERT per row (its text compiled by Kysely in
 * store.ts) inside one IMMEDIATE transaction per batch. A batch crosses as one JSON string of its rider ids and one
 * transferred Float64Array of the numeric columns (NaN for NULL; history.ts FixBatch), not as 2,000 cloned objects:
 * postMessage had been 4 % of the event loop's time; this way it is a tenth of that (measured, 2,000 fixes).
 */

// Plain JavaScript evaluated in the worker: no file of its own to resolve, from src (tests) or dist alike.
const WORKER = `(async () => {
  const { createRequire } = await import('node:module');
  const { parentPort, workerData } = await import('node:worker_threads');
  const Database = createRequire(workerData.from)('better-sqlite3');
  const db = new Database(workerData.file, { fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  db.pragma('synchronous = NORMAL');
  db.pragma('wal_autocheckpoint = 4000');
  const insert = db.prepare(workerData.sql);
  const width = workerData.width;
  const args = new Array(width + 1);
  const write = db.transaction((ids, nums) => {
    for (let i = 0; i < ids.length; i++) {
      args[0] = ids[i];
      for (let c = 0; c < width; c++) { const v = nums[i * width + c]; args[c + 1] = v !== v ? null : v; }
      insert.run(args);
    }
  });
  parentPort.on('message', (m) => {
    if (m.op === 'close') {
      try { db.close(); } catch {}
      parentPort.postMessage({ op: 'closed' });
      return;
    }
    try {
      write.immediate(JSON.parse(m.ids), m.nums);
      parentPort.postMessage({ op: 'done', id: m.id });
    } catch (err) {
      parentPort.postMessage({ op: 'done', id: m.id, error: String((err && err.message) || err) });
    }
  });
})();`;

/** the numeric columns per fix, in statement order after rider_id */
const WIDTH = FIX_COLUMNS.length - 1;

export class FixWriterThread {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (err: Error) => void }>();

  /** `sql`: the single-row INSERT whose parameters are FIX_COLUMNS in order */
  constructor(private readonly file: string, private readonly sql: string) {}

  private thread(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(WORKER, { eval: true, workerData: { from: import.meta.url, file: this.file, sql: this.sql, width: WIDTH } });
    w.on('message', (m: { op: string; id?: number; error?: string }) => {
      if (m.op !== 'done' || m.id === undefined) return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (this.pending.size === 0) w.unref();
      if (m.error === undefined) p?.resolve();
      else p?.reject(new Error(m.error));
    });
    // a thread that died (it could not open the file) fails what it held; the next batch starts a new one
    const fail = (err: Error): void => {
      if (this.worker === w) this.worker = undefined;
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`fix writer thread exited (${code})`)));
    w.unref(); // never what keeps a process alive; referenced while a batch is in flight
    this.worker = w;
    return w;
  }

  /**
   * Writes the first `n` fixes of a batch (rider ids, and WIDTH numbers each in FIX_COLUMNS order, NaN for NULL).
   * Resolves once they are committed (one transaction), rejects with SQLite's error (nothing of them written). The
   * arrays are copied to the thread, so the caller's batch stays intact for a retry.
   */
  write(allIds: readonly string[], allNums: Float64Array, n: number): Promise<void> {
    const ids = JSON.stringify(n === allIds.length ? allIds : allIds.slice(0, n));
    // a copy, transferred: cloning the array in postMessage cost 3-10 times a plain copy (measured, 2,000 fixes)
    const nums = allNums.slice(0, n * WIDTH);
    const w = this.thread();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      w.ref();
      w.postMessage({ op: 'write', id, ids, nums }, [nums.buffer]);
    });
  }

  /** Closes the thread's connection (after the batches already sent) and ends the thread. */
  async close(): Promise<void> {
    const w = this.worker;
    if (!w) return;
    this.worker = undefined;
    w.ref();
    await new Promise<void>((resolve) => {
      w.on('message', (m: { op: string }) => m.op === 'closed' && resolve());
      w.once('exit', () => resolve());
      w.postMessage({ op: 'close' });
    });
    await w.terminate();
  }
}
