// Preloaded into `infra up` by scripts/bench-orders.mjs (NODE_OPTIONS=--require ...) for its raw-SQLite reference:
// appends every statement the main thread runs on a better-sqlite3 handle (database file, SQL, method, parameters),
// in order, to the JSON-lines file named by INFRA_SQL_CAPTURE. The bench then replays the log with raw better-sqlite3
// on a copy of the database as it was before the run. Bench-only: nothing in the product loads it.
const { isMainThread } = require('node:worker_threads');
const file = process.env.INFRA_SQL_CAPTURE;
if (file && isMainThread) {
  const fs = require('node:fs');
  const Database = require(require.resolve('better-sqlite3', { paths: [process.cwd(), __dirname] }));
  const out = fs.openSync(file, 'w');
  let lines = [];
  const flush = () => {
    if (lines.length) fs.writeSync(out, lines.join(''));
    lines = [];
  };
  const record = (db, sql, method, params) => {
    const ps = params.map((v) => (Buffer.isBuffer(v) ? { $b: v.toString('base64') } : typeof v === 'bigint' ? { $n: String(v) } : v));
    lines.push(`${JSON.stringify([db, sql, method, ps])}\n`);
    if (lines.length >= 1000) flush();
  };
  const probe = new Database(':memory:');
  const Statement = Object.getPrototypeOf(probe.prepare('select 1'));
  probe.close();
  for (const method of ['run', 'get', 'all', 'iterate']) {
    const original = Statement[method];
    Statement[method] = function (...params) {
      record(this.database.name, this.source, method, params);
      return original.apply(this, params);
    };
  }
  const exec = Database.prototype.exec;
  Database.prototype.exec = function (sql) {
    record(this.name, sql, 'exec', []);
    return exec.call(this, sql);
  };
  setInterval(flush, 200).unref();
  process.on('exit', flush);
}
