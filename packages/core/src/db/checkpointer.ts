import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside whichever COMMIT crosses the
 * threshold: it copies the WAL into the database file and fsyncs it, on the event loop. Measured here, that was
 * most of a commit's cost (412 µs per commit with it, 146 µs without, 8-row transactions). A second connection on a
 * worker thread runs PASSIVE checkpoints every few hundred milliseconds instead: it never blocks the writer or readers,
 * and the writer restarts the WAL from the top once it is fully copied. The writer's own automatic checkpoint stays on
 * at a higher threshold, so the WAL stays bounded even if this thread falls behind.
 *
 * Under sustained writes the WAL is never fully copied when a write transaction begins (the writer appends while the
 * thread copies), so it never restarted and grew to the writer's threshold, whose checkpoint then ran inside a COMMIT
 * on the event loop: a 20-50 ms stall every ~0.6 s at 1,000 orders/s (bench:orders, paced: p99 18-31 ms, 5.9 ms with
 * that checkpoint off). So once the WAL holds RESTART_PAGES, the thread copies what it can, then asks the process to
 * hold the file's connection (`hold`: no statement of the process runs meanwhile, the event loop keeps going) while it
 * copies the last frames. The WAL is then complete, and the next write transaction starts it again from the top.
 */

// Plain JavaScript evaluated in the worker: no file of its own to resolve, from src (tests) or dist alike.
const WORKER = `(async () => {
  const { createRequire } = await import('node:module');
  const { parentPort, workerData } = await import('node:worker_threads');
  const Database = createRequire(workerData.from)('better-sqlite3');
  const open = new Map();
  const restarting = new Set();
  const passive = (db) => db.pragma('wal_checkpoint(PASSIVE)')[0];
  const tick = () => {
    for (const [file, db] of open) {
      try {
        let r = passive(db);
        if (r.log < workerData.restartPages || restarting.has(file)) continue;
        // copy what the writer appended meanwhile, again while that was many frames (each pass syncs twice, ~2-4 ms
        // here), so that the hold is left with a few frames and the syncs
        for (let i = 0, before = 0; i < 6 && r.log - before > 128; i++) { before = r.log; r = passive(db); }
        restarting.add(file);
        parentPort.postMessage({ op: 'hold', file });
      } catch (err) { parentPort.postMessage({ op: 'error', file, message: String(err && err.message || err) }); }
    }
  };
  setInterval(tick, workerData.intervalMs);
  parentPort.on('message', (m) => {
    if (m.op === 'final') {
      // the process holds the file's connection: nothing appends, so this copies every frame left
      let r;
      try { const db = open.get(m.file); if (db) r = passive(db); } catch (err) { parentPort.postMessage({ op: 'error', file: m.file, message: String(err && err.message || err) }); }
      restarting.delete(m.file);
      parentPort.postMessage({ op: 'ack', id: m.id, result: r });
    } else if (m.op === 'released') {
      restarting.delete(m.file);
    } else if (m.op === 'add') {
      try { open.set(m.file, new Database(m.file, { fileMustExist: true })); } catch (err) { parentPort.postMessage({ op: 'error', file: m.file, message: String(err && err.message || err) }); }
      parentPort.postMessage({ op: 'ack', id: m.id });
    } else if (m.op === 'remove') {
      const db = open.get(m.file);
      open.delete(m.file);
      try { db?.close(); } catch {}
      parentPort.postMessage({ op: 'ack', id: m.id });
    }
  });
})();`;

const INTERVAL_MS = 200;
/** WAL size (pages) from which the thread finishes a checkpoint under a hold, so the WAL starts again from the top */
const RESTART_PAGES = 4096;

/** per file: runs `work` while no statement of this process runs on the file's connection */
export type HoldConnection = (work: () => Promise<void>) => Promise<void>;
const holds = new Map<string, HoldConnection>();

let worker: Worker | undefined;
let nextId = 0;
const acks = new Map<number, () => void>();

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER, { eval: true, workerData: { from: import.meta.url, intervalMs: INTERVAL_MS, restartPages: RESTART_PAGES } });
  w.on('message', (m: { op: string; id?: number; file?: string; message?: string }) => {
    if (m.op === 'hold' && m.file !== undefined) {
      const file = m.file;
      const hold = holds.get(file);
      if (!hold) return void w.postMessage({ op: 'released', file });
      // the copy of the last frames runs on the thread; here only the connection is held (statements wait, the loop runs)
      hold(() => send('final', file)).catch((err: Error) => {
        w.postMessage({ op: 'released', file });
        process.emitWarning(`WAL restart of ${file} failed: ${err.message}`, 'InfraCheckpointWarning');
      });
    } else if (m.op === 'ack' && m.id !== undefined) {
      acks.get(m.id)?.();
      acks.delete(m.id);
      if (acks.size === 0) w.unref();
    } else if (m.op === 'error') {
      // the writer's own automatic checkpoint still bounds the WAL; nothing is lost
      process.emitWarning(`background checkpoint of ${m.file} failed: ${m.message}`, 'InfraCheckpointWarning');
    }
  });
  w.on('error', (err) => process.emitWarning(`background checkpoint thread failed: ${err.message}`, 'InfraCheckpointWarning'));
  w.on('exit', () => {
    worker = undefined;
    for (const done of acks.values()) done();
    acks.clear();
  });
  w.unref(); // never what keeps a process alive (after the listeners: adding a 'message' listener refs the port again)
  worker = w;
  return w;
}

function send(op: 'add' | 'remove' | 'final', file: string): Promise<void> {
  const w = thread();
  const id = nextId++;
  return new Promise<void>((resolve) => {
    acks.set(id, resolve);
    w.ref(); // an answer is awaited: keep the process up for it
    w.postMessage({ op, file, id });
  });
}

/**
 * Starts background checkpoints of `file` (a WAL database the caller has open); the returned function stops them
 * and resolves once the worker's connection is closed, so the caller's close is the last one.
 */
export function checkpointInBackground(file: string, hold?: HoldConnection): () => Promise<void> {
  if (hold) holds.set(file, hold);
  const added = send('add', file);
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    holds.delete(file);
    await added;
    await send('remove', file);
  };
}
