import { Worker } from 'node:worker_threads';

/**
 * WAL checkpoints on a worker thread. SQLite's automatic checkpoint runs inside whichever COMMIT crosses the
 * threshold: it copies the WAL into the database file and fsyncs it, on the event loop. Measured here, that was
 * most of a commit's cost (412 µs per commit with it, 146 µs without, 8-row transactions). A second connection on a
 * worker thread runs PASSIVE checkpoints every few hundred milliseconds instead: it never blocks the writer or readers,
 * and the writer restarts the WAL from the top once it is fully copied. The writer's own automatic checkpoint stays on
 * at a higher threshold, so the WAL stays bounded even if this thread falls behind.
 */

// Plain JavaScript evaluated in the worker: no file of its own to resolve, from src (tests) or dist alike.
const WORKER = `(async () => {
  const { createRequire } = await import('node:module');
  const { parentPort, workerData } = await import('node:worker_threads');
  const Database = createRequire(workerData.from)('better-sqlite3');
  const open = new Map();
  const tick = () => {
    for (const [file, db] of open) {
      try { db.pragma('wal_checkpoint(PASSIVE)'); } catch (err) { parentPort.postMessage({ op: 'error', file, message: String(err && err.message || err) }); }
    }
  };
  setInterval(tick, workerData.intervalMs);
  parentPort.on('message', (m) => {
    if (m.op === 'add') {
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

let worker: Worker | undefined;
let nextId = 0;
const acks = new Map<number, () => void>();

function thread(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER, { eval: true, workerData: { from: import.meta.url, intervalMs: INTERVAL_MS } });
  w.on('message', (m: { op: string; id?: number; file?: string; message?: string }) => {
    if (m.op === 'ack' && m.id !== undefined) {
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

function send(op: 'add' | 'remove', file: string): Promise<void> {
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
export function checkpointInBackground(file: string): () => Promise<void> {
  const added = send('add', file);
  let stopped = false;
  return async () => {
    if (stopped) return;
    stopped = true;
    await added;
    await send('remove', file);
  };
}
