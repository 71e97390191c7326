#!/usr/bin/env node
// Order creation (stock reservation + outbox row + Idempotency-Key, one transaction) against a real
// `infra up` stack, next to a baseline in the same run: raw fastify + better-sqlite3 (same WAL settings)
// inserting one row per request. Both servers run in their own process and autocannon runs in this one.
// Max throughput for both, then orders at a fixed rate. Prints req/s, latency and the server process's
// CPU time per request (user + system from /proc: the figure that survives a loaded machine).
// Usage: npm run bench:orders [-- --seconds 10 --connections 10 --rate 1000]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomUUID } from 'node:crypto';
import os from 'node:os';
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
const dir = join(root, 'stack');
const sh = (a) => { const r = spawnSync(process.execPath, [bin, ...a], { encoding: 'utf8' }); if (r.status !== 0) throw new Error(r.stderr); return r.stdout; };
sh(['init', dir, '--template', 'commerce', '--yes']);
sh(['seed', '--dir', dir]);

const sets = ['http.port=0', 'mqtt.port=0', 'media.rtmp.port=0', 'media.http.port=0', 'fulfillment.rateLimit=0', 'log.level=warn'].flatMap((s) => ['--set', s]);
// BENCH_CPU_PROF=DIR writes a CPU profile of the stack into DIR (node --cpu-prof)
const prof = process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : [];
const child = spawn(process.execPath, [...prof, bin, 'up', '--dir', dir, '--only', only, ...sets], { stdio: ['ignore', 'pipe', 'inherit'] });
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

// enough stock for every request of the run
for (let i = 0; i < 5; i++) {
  const r = await fetch(`${base}/wms/adjustments`, { method: 'POST', headers: auth, body: JSON.stringify({ sku: 'TSHIRT-M', location: 'WH1:A/01/01', qty: 1_000_000, reason: 'bench stock' }) });
  if (r.status !== 200) throw new Error(`stock: ${r.status} ${await r.text()}`);
}
const orderBody = JSON.stringify({ customer: 'bench', address: { name: 'B', line1: '1 St', city: 'X', postalCode: '1', country: 'DE' }, lines: [{ sku: 'TSHIRT-M', qty: 1, unitPrice: 1999 }] });

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
    requests: [{ setupRequest: (req) => ({ ...req, headers: { ...req.headers, 'idempotency-key': randomUUID() } }) }],
    ...extra,
  }, (err, r) => (err ? reject(err) : resolve({ title, rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, ok: r['2xx'], non2xx: r.non2xx, errors: r.errors, cpuUs: ((cpuMs(pid) - cpu0) * 1000) / Math.max(1, r['2xx']) })));
});

const results = [];
results.push(await run('baseline: fastify + better-sqlite3 insert', rawUrl, raw.pid));
results.push(await run('POST /api/v1/orders (max)', `${base}/orders`, child.pid));
results.push(await run(`POST /api/v1/orders at ${rate} req/s`, `${base}/orders`, child.pid, { overallRate: rate }));

const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${seconds} s per row, ${connections} connections, ${process.arch}, Node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
console.log(pad('run', 46) + pad('req/s', 10) + pad('p50 ms', 9) + pad('p99 ms', 9) + pad('2xx', 9) + pad('non-2xx/errors', 16) + 'server CPU µs/req');
for (const r of results) console.log(pad(r.title, 46) + pad(r.rps.toFixed(0), 10) + pad(r.p50, 9) + pad(r.p99, 9) + pad(r.ok, 9) + pad(`${r.non2xx}/${r.errors}`, 16) + r.cpuUs.toFixed(0));
console.log(`ratio orders/baseline (max): ${(results[1].rps / results[0].rps).toFixed(2)}x req/s, ${(results[0].cpuUs / results[1].cpuUs).toFixed(2)}x CPU per request`);

raw.kill('SIGTERM');
await new Promise((r) => raw.once('exit', r));
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
rmSync(root, { recursive: true, force: true });
