#!/usr/bin/env node
// Order creation (stock reservation + outbox row + Idempotency-Key, one transaction) against a real
// `infra up` stack, next to a baseline in the same run: raw fastify + better-sqlite3 (same WAL settings)
// inserting one row per request. Both servers run in their own process and autocannon runs in this one.
// Max throughput for both, then orders at a fixed rate (paced evenly, open loop; see paced()). Prints req/s, latency and the server process's
// CPU time per request (user + system from /proc: the figure that survives a loaded machine).
// Then a raw-SQLite reference: the SQL a second stack ran for --floor-orders orders, replayed with raw better-sqlite3
// (see sqlFloor below): what SQLite alone costs per order, beside the baseline's whole request.
// Usage: npm run bench:orders [-- --seconds 10 --connections 10 --rate 1000 --floor-orders 3000 (0 = skip)]
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
import http from 'node:http';
import autocannon from 'autocannon';
import Fastify from 'fastify';
import Database from 'better-sqlite3';

const args = process.argv.slice(2);
if (args[0] === '--baseline-server') {
  const sqlite = new Database(args[1]);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.exec('create table rows (id text primary key, body text not null, created_at integer not null)');
  const insert = sqlite.prepare('insert into rows (id, body, created_at) values (?, ?, ?)');
  const raw = Fastify();
  raw.post('/rows', async (req, reply) => { insert.run(randomUUID(), JSON.stringify(req.body), Date.now()); return reply.code(201).send({ ok: true }); });
  await raw.listen({ port: 0, host: '127.0.0.1' });
  process.stdout.write(`${raw.server.address().port}\n`);
  process.once('SIGTERM', () => { void raw.close().then(() => { sqlite.close(); process.exit(0); }); });
  await new Promise(() => undefined);
}
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const seconds = Number(opt('seconds', '10'));
const connections = Number(opt('connections', '10'));
const rate = Number(opt('rate', '1000'));
const only = opt('only', 'server,broker'); // the broker in-process so the outbox relay publishes, as in a default stack
const bin = fileURLToPath(new URL('../bin/infra.js', import.meta.url));
const root = mkdtempSync(join(tmpdir(), 'infra-bench-orders-'));
const sh = (a) => { const r = spawnSync(process.execPath, [bin, ...a], { encoding: 'utf8' }); if (r.status !== 0) throw new Error(r.stderr); return r.stdout; };
const sets = ['http.port=0', 'mqtt.port=0', 'media.rtmp.port=0', 'media.http.port=0', 'fulfillment.rateLimit=0', 'log.level=warn'].flatMap((s) => ['--set', s]);
const orderBody = JSON.stringify({ customer: 'bench', address: { name: 'B', line1: '1 St', city: 'X', postalCode: '1', country: 'DE' }, lines: [{ sku: 'TSHIRT-M', qty: 1, unitPrice: 1999 }] });
/** autocannon: every order request carries an Idempotency-Key of its own */
const freshIdempotencyKey = [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }) }];

/**
 * `infra init` + `infra seed` in `dir`, then `infra up` (with `env` added), with enough stock for every request of a run.
 * `beforeUp` runs between seed and up (the raw-SQLite reference copies the seeded database there).
 */
async function startStack(dir, { env = {}, nodeArgs = [], beforeUp = () => undefined } = {}) {
  sh(['init', dir, '--template', 'commerce', '--yes']);
  sh(['seed', '--dir', dir]);
  beforeUp();
  const child = spawn(process.execPath, [...nodeArgs, bin, 'up', '--dir', dir, '--only', only, ...sets], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; if (out.includes('Press Ctrl-C to stop.')) resolve(); });
    child.once('exit', (c) => reject(new Error(`infra up exited ${c}`)));
  });
  const runDir = join(dir, 'data', 'run');
  const state = readdirSync(runDir).map((f) => JSON.parse(readFileSync(join(runDir, f), 'utf8'))).find((s) => s.pid === child.pid);
  const api = state.endpoints.server.find((e) => e.name === 'api');
  const base = `http://127.0.0.1:${api.port}/api/v1`;
  const auth = { authorization: `Bearer ${state.adminToken}`, 'content-type': 'application/json' };
  for (let i = 0; i < 5; i++) {
    const r = await fetch(`${base}/wms/adjustments`, { method: 'POST', headers: auth, body: JSON.stringify({ sku: 'TSHIRT-M', location: 'WH1:A/01/01', qty: 1_000_000, reason: 'bench stock' }) });
    if (r.status !== 200) throw new Error(`stock: ${r.status} ${await r.text()}`);
  }
  const stop = async () => {
    child.kill('SIGTERM');
    await new Promise((r) => (child.exitCode !== null ? r() : child.once('exit', r)));
  };
  return { child, base, auth, stop };
}

// BENCH_CPU_PROF=DIR writes a CPU profile of the stack into DIR (node --cpu-prof)
const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
const { child, base, auth, stop } = await startStack(join(root, 'stack'), { nodeArgs: prof });

// baseline: fastify + better-sqlite3, one INSERT per request, same pragmas as openSqlite, in its own process
// like the stack (autocannon runs here, so neither server shares its event loop with the load generator)
const raw = spawn(process.execPath, [fileURLToPath(import.meta.url), '--baseline-server', join(root, 'baseline.db')], { stdio: ['ignore', 'pipe', 'inherit'] });
const rawPort = await new Promise((resolve, reject) => {
  raw.stdout.once('data', (d) => resolve(Number(String(d).trim())));
  raw.once('exit', (c) => reject(new Error(`baseline server exited ${c}`)));
});
const rawUrl = `http://127.0.0.1:${rawPort}/rows`;

/** CPU time (user + system) a process has used so far, in ms, from /proc. */
const cpuMs = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return ((Number(f[11]) + Number(f[12])) * 1000) / 100; };
const run = (title, url, pid, extra = {}) => new Promise((resolve, reject) => {
  const cpu0 = cpuMs(pid);
  autocannon({
    url, method: 'POST', connections, duration: seconds, headers: auth, body: orderBody,
    requests: freshIdempotencyKey,
    ...extra,
  }, (err, r) => (err ? reject(err) : resolve({ title, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors, cpuUs: ((cpuMs(pid) - cpu0) * 1000) / Math.max(1, r['2xx']) })));
});

/**
 * Orders at a steady `rate`, open loop: request i is due at start + i / rate and goes out when due on a free keep-alive
 * connection (a new one if none is free). Its latency counts from when it was due, so a stall of the server shows in
 * the figures instead of slowing the load down (no coordinated omission). This is what "p99 at 1,000 req/s" means.
 * autocannon's overallRate is not that: it gives each connection a quota per second, which the connection spends back
 * to back at full speed before pausing until the next second (node_modules/autocannon/lib/httpClient.js). At 1,000
 * req/s against orders that take about 0.5 ms, every second began with ~0.5 s at full speed, 10 requests in flight,
 * and then nothing: its latencies are those of the saturated server. Its row is still printed, for comparison.
 */
async function paced(title, url, pid) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const total = rate * seconds;
  const latencies = [];
  const fromSend = [];
  let sent = 0;
  let done = 0;
  let ok = 0;
  let non2xx = 0;
  let errors = 0;
  const cpu0 = cpuMs(pid);
  const start = performance.now();
  await new Promise((resolve) => {
    const settle = (due, sentAt, status) => {
      const now = performance.now();
      latencies.push(now - due);
      fromSend.push(now - sentAt);
      if (status === undefined) errors++;
      else if (status >= 200 && status < 300) ok++;
      else non2xx++;
      if (++done === total) resolve();
    };
    const fire = (due) => {
      const sentAt = performance.now();
      const req = http.request(url, { method: 'POST', agent, headers: { ...auth, 'idempotency-key': randomUUID(), 'content-length': Buffer.byteLength(orderBody) } }, (res) => {
        res.resume();
        res.once('end', () => settle(due, sentAt, res.statusCode));
      });
      req.once('error', () => settle(due, sentAt, undefined));
      req.end(orderBody);
    };
    const tick = () => {
      const now = performance.now();
      for (; sent < total && start + (sent * 1000) / rate <= now; sent++) fire(start + (sent * 1000) / rate);
      if (sent < total) setTimeout(tick, Math.max(0, start + (sent * 1000) / rate - performance.now()));
    };
    tick();
  });
  const wall = (performance.now() - start) / 1000;
  const pct = (xs, q) => xs.sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))];
  // from the due time (what the p99 is read from) and, for comparison, from when the request actually went out:
  // Node's timers fire on whole milliseconds, so a request can leave up to ~1 ms after it was due
  const note = `from send: p50 ${pct(fromSend, 0.5).toFixed(1)} ms, p99 ${pct(fromSend, 0.99).toFixed(1)} ms; ${Object.values(agent.sockets).flat().length + Object.values(agent.freeSockets).flat().length} connections`;
  agent.destroy();
  return { title, rps: total / wall, p50: pct(latencies, 0.5).toFixed(1), p99: pct(latencies, 0.99).toFixed(1), ok, non2xx, errors, cpuUs: ((cpuMs(pid) - cpu0) * 1000) / Math.max(1, ok), note };
}

const results = [];
results.push(await run('baseline: fastify + better-sqlite3 insert', rawUrl, raw.pid));
results.push(await run('POST /api/v1/orders (max)', `${base}/orders`, child.pid));
results.push(await paced(`POST /api/v1/orders at ${rate} req/s, paced`, `${base}/orders`, child.pid));
results.push(await run(`  (autocannon overallRate ${rate}: bursts)`, `${base}/orders`, child.pid, { overallRate: rate }));

raw.kill('SIGTERM');
await new Promise((r) => raw.once('exit', r));
await stop();

const floor = opt('floor-orders', '3000') === '0' ? undefined : await sqlFloor(Number(opt('floor-orders', '3000')));

const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${seconds} s per row, ${connections} connections, ${process.arch}, Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(pad('run', 46) + pad('req/s', 10) + pad('p50 ms', 9) + pad('p99 ms', 9) + pad('2xx', 9) + pad('non-2xx/errors', 16) + 'server CPU µs/req');
for (const r of results) {
  console.log(pad(r.title, 46) + pad(r.rps.toFixed(0), 10) + pad(r.p50, 9) + pad(r.p99, 9) + pad(r.ok, 9) + pad(`${r.non2xx}/${r.errors}`, 16) + r.cpuUs.toFixed(0));
  if (r.note) console.log(`  (${r.note})`);
}
console.log(`ratio orders/baseline (max): ${(results[1].rps / results[0].rps).toFixed(2)}x req/s, ${(results[0].cpuUs / results[1].cpuUs).toFixed(2)}x CPU per request`);
if (floor) {
  console.log(`\nraw SQLite reference: the SQL the stack ran for ${floor.orders} orders (${floor.statements} statements, ${(floor.statements / floor.orders).toFixed(1)} per order, ${floor.commits} commits)`);
  console.log('replayed with raw better-sqlite3 on a copy of the seeded database, no HTTP and no JavaScript of ours:');
  console.log(`  ${floor.cpuUs.toFixed(0)} µs CPU per order (user ${floor.userUs.toFixed(0)}, system ${floor.sysUs.toFixed(0)}; of which COMMIT statements ${floor.commitUs.toFixed(0)} wall; the final checkpoint ${floor.checkpointUs.toFixed(0)})`);
  console.log(`  = ${(floor.cpuUs / results[0].cpuUs).toFixed(2)}x the baseline's whole request, ${(floor.cpuUs / results[1].cpuUs).toFixed(2)} of an order's CPU in the stack at max throughput`);
}
rmSync(root, { recursive: true, force: true });

/**
 * The raw-SQLite reference: a second stack, started with scripts/sql-capture.cjs preloaded, takes `n` orders (10
 * connections, as above); every statement its main thread ran is then replayed in order with raw better-sqlite3
 * (statements prepared once) on a copy of the database files as `infra seed` left them. The CPU of the replay from the
 * first order's INSERT to the end, plus a final checkpoint (the stack checkpoints on a worker thread), per order, is
 * what SQLite itself costs for what an order writes and reads: the floor under any server of this schema.
 */
async function sqlFloor(n) {
  const fdir = join(root, 'floor');
  const snapshot = join(root, 'floor-seeded');
  const log = join(root, 'floor.jsonl');
  const stack = await startStack(fdir, {
    env: { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${fileURLToPath(new URL('./sql-capture.cjs', import.meta.url))}`, INFRA_SQL_CAPTURE: log },
    beforeUp: () => cpSync(join(fdir, 'data'), snapshot, { recursive: true }),
  });
  await new Promise((resolve, reject) => autocannon({
    url: `${stack.base}/orders`, method: 'POST', connections, amount: n, headers: stack.auth, body: orderBody,
    requests: freshIdempotencyKey,
  }, (err, r) => (err ? reject(err) : r['2xx'] === n ? resolve() : reject(new Error(`capture run: ${r['2xx']} of ${n} orders created`)))));
  await stack.stop();
  const dataDir = join(fdir, 'data');
  const replayDir = join(root, 'floor-replay');
  cpSync(snapshot, replayDir, { recursive: true });
  const dbs = new Map();
  const prepared = new Map();
  const params = (ps) => ps.map((v) => (v && typeof v === 'object' && '$b' in v ? Buffer.from(v.$b, 'base64') : v && typeof v === 'object' && '$n' in v ? BigInt(v.$n) : v));
  let orders = 0;
  let statements = 0;
  let commits = 0;
  let commitNs = 0n;
  let cpu0;
  for (const line of readFileSync(log, 'utf8').split('\n')) {
    if (!line) continue;
    const [file, sql, method, ps] = JSON.parse(line);
    let db = dbs.get(file);
    if (!db) dbs.set(file, (db = new Database(file.replace(dataDir, replayDir))));
    if (method === 'exec') { db.exec(sql); continue; }
    if (!cpu0 && sql.startsWith('insert into "orders"')) cpu0 = process.cpuUsage();
    if (cpu0) statements++;
    if (sql.startsWith('insert into "orders"')) orders++;
    let stmt = prepared.get(`${file}\0${sql}`);
    if (!stmt) prepared.set(`${file}\0${sql}`, (stmt = db.prepare(sql)));
    const t = cpu0 && sql === 'commit' ? process.hrtime.bigint() : 0n;
    if (!stmt.reader) stmt.run(...params(ps));
    else if (method === 'iterate') for (const row of stmt.iterate(...params(ps))) void row;
    else stmt[method](...params(ps));
    if (t) { commits++; commitNs += process.hrtime.bigint() - t; }
  }
  const replay = process.cpuUsage(cpu0);
  const c0 = process.cpuUsage();
  for (const db of dbs.values()) db.pragma('wal_checkpoint(TRUNCATE)');
  const checkpoint = process.cpuUsage(c0);
  for (const db of dbs.values()) db.close();
  const us = (u) => (u.user + u.system) / orders;
  return { orders, statements, commits, cpuUs: us(replay) + us(checkpoint), userUs: replay.user / orders, sysUs: replay.system / orders, commitUs: Number(commitNs / 1000n) / orders, checkpointUs: us(checkpoint) };
}
