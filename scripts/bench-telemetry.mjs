#!/usr/bin/env node
// Rider telemetry end to end: N simulated riders (default 1000, one mqtt.js connection each, their own `rider` token;
// each PUBLISH is written to the client's socket as raw bytes, see rawPublish) publish GPS fixes on fleet/{riderId}/loc (QoS 0) at --rate fixes/s each for --seconds. Our side runs the broker
// (aedes + auth + ACL + telemetry gate) and the server's RiderService (validation, H3 index, batched SQL writes into
// fulfillment.db) in one child process, as `infra up` does. Reported: fixes/s the RiderService ingested, rows that
// reached SQL (and in how many transactions), p50/p99 from publish to a customer's tracking subscriber (--trackers
// clients, each subscribed to one rider's fleet/{id}/loc: by default a `user` token granted that topic by a backend, as
// the delivery module grants an order's customer; --tracker-role service gives the session-3 reading, backend tokens
// that need no grant), and the child's CPU. The load generator (this process) shares the machine: its own CPU and
// event-loop delay are printed per phase, since a stamp is taken and read here. Reference in the same run: mosquitto
// relaying the same publishes to a fleet/+/loc subscriber (what "ingest" is for a plain broker) and to the trackers.
// Phases on the same connections: nominal (1 fix/s per rider, the issue's load), stress (--rate per rider), and the
// stress load again with every rider's fix of a tick in one burst (session 3's reading; --no-burst skips it).
// Bounded: 2 s warm-up + --nominal-seconds (4) + 2 × --seconds (5) of publishing per side plus set-up and drain; --riders, --rate, --trackers.
// Usage: npm run bench:telemetry [-- --riders 1000 --rate 20 --seconds 5 --nominal-seconds 4 --trackers 50 --tracker-role user|service
//   --spread 20 (slices per tick; 1 = every rider in the same burst) --no-burst (skip the burst repeat) --no-reference]
// BENCH_CPU_PROF=dir profiles our child (whole run); BENCH_CPU_PROF_STRESS=dir profiles its stress phase only
// (dir/stress.cpuprofile); BENCH_MQ_CONCURRENCY=n overrides aedes' in-flight message limit (default 100);
// BENCH_MQ_RING=0 gives mqemitter back its two plain waiting-message arrays (Array.shift per message) instead of the
// broker's O(1) ring queues, for comparison
// (packages/broker/src/telemetry/mq-queue.ts); BENCH_FIX_WRITER=loop writes fix batches on the event loop through
// Kysely, as session 3 did, instead of from the writer thread (packages/server/src/riders/history-writer.ts).
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
const nproc = availableParallelism();
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const secret = 'bench-'.repeat(8);
const dist = (p) => pathToFileURL(join(root, p)).href;

// ---- child mode: broker + RiderService in this process; answers {stats} requests over IPC
if (args[0] === '--serve') {
  const core = await import(dist('packages/core/dist/index.js'));
  const { startBroker } = await import(dist('packages/broker/dist/index.js'));
  const { openFulfillmentDb } = await import(dist('packages/server/dist/fulfillment-db.js'));
  const { RiderService } = await import(dist('packages/server/dist/riders/index.js'));
  const config = core.parseConfigText('version: 1\nmqtt:\n  port: 0\n', 'infra.yaml', {}, []);
  const logger = core.createLogger({ level: 'error' });
  const broker = await startBroker({ config, secrets: { jwtSecret: secret, streamKeySalt: secret }, logger, dataDir: args[1] }, { issuer: new core.TokenIssuer(secret) });
  const { database } = await openFulfillmentDb(args[1]);
  // as packages/server/src/index.ts builds it (fix batches written from their own thread)
  const riders = new RiderService(database.db, config.fleet, logger, Date.now, process.env.BENCH_FIX_WRITER === 'loop' ? {} : { historyFile: database.file });
  await riders.start(broker.bus);
  if (process.env.BENCH_MQ_CONCURRENCY) broker.aedes.mq.concurrency = Number(process.env.BENCH_MQ_CONCURRENCY);
  if (process.env.BENCH_MQ_RING === '0') {
    // the broker swaps mqemitter's waiting-message arrays for ring queues; put plain arrays back to compare
    broker.aedes.mq._messageQueue = [];
    broker.aedes.mq._messageCallbacks = [];
  }
  let profiler;
  // the event loop that relays fixes: its utilisation and how late it ran (a synchronous stall delays every fix behind it)
  let elu0;
  const loopDelay = monitorEventLoopDelay({ resolution: 1 });
  process.on('message', async (m) => {
    if (m === 'received') process.send(riders.stats.received);
    if (m === 'phase-start') {
      elu0 = performance.eventLoopUtilization();
      loopDelay.reset();
      loopDelay.enable();
      return process.send('ok');
    }
    if (m === 'phase-stop') {
      loopDelay.disable();
      return process.send({ elu: performance.eventLoopUtilization(elu0).utilization, delayP99: loopDelay.percentile(99) / 1e6, delayMax: loopDelay.max / 1e6 });
    }
    if (m === 'profile-start' || m === 'profile-stop') {
      if (!process.env.BENCH_CPU_PROF_STRESS) return process.send('ok');
      const { Session } = await import('node:inspector');
      const post = (method) => new Promise((resolve, reject) => profiler.post(method, (err, r) => (err ? reject(err) : resolve(r))));
      if (m === 'profile-start') {
        profiler = new Session();
        profiler.connect();
        await post('Profiler.enable');
        await post('Profiler.start');
      } else {
        const { profile } = await post('Profiler.stop');
        writeFileSync(join(process.env.BENCH_CPU_PROF_STRESS, 'stress.cpuprofile'), JSON.stringify(profile));
        profiler.disconnect();
      }
      process.send('ok');
    }
    if (m === 'stats') {
      await riders.flush(true);
      const gate = (await broker.health()).fixes;
      process.send({ riders: { ...riders.stats }, gate, rows: await riders.storedFixes() });
    }
  });
  process.stdout.write(`PORT ${broker.endpoints[0].port}\n`);
  process.on('SIGTERM', () => void riders.close().then(() => database.close()).then(() => broker.close()).then(() => process.exit(0)));
  await new Promise(() => undefined);
}

const riderCount = Number(opt('riders', '1000'));
const rate = Number(opt('rate', '20'));
const seconds = Number(opt('seconds', '5'));
const nominalSeconds = Number(opt('nominal-seconds', '4'));
const trackerCount = Math.min(riderCount, Number(opt('trackers', '50')));
const trackerRole = opt('tracker-role', 'user');
const spread = Math.max(1, Number(opt('spread', '20')));
const burstPhase = !args.includes('--no-burst');
if (trackerRole !== 'user' && trackerRole !== 'service') throw new Error('--tracker-role is user (a customer granted the topic) or service');

const which = spawnSync('sh', ['-c', 'command -v mosquitto || ls /usr/sbin/mosquitto'], { encoding: 'utf8' });
const mosquittoBin = which.status === 0 ? which.stdout.trim().split('\n')[0] : '';

const { default: mqtt } = await import('mqtt');
const core = await import(dist('packages/core/dist/index.js'));
const issuer = new core.TokenIssuer(secret);

const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
// a process's CPU ms (all its threads), or one thread's (the main thread's id is the pid)
const cpuMs = (pid, tid) => { const f = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return ((Number(f[11]) + Number(f[12])) * 1000) / 100; };
const pct = (xs, p) => { const s = Float64Array.from(xs).sort(); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function startOurs(dir) {
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []), fileURLToPath(import.meta.url), '--serve', dir], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { out += d; const m = /PORT (\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    child.once('exit', (code) => reject(new Error(`our stack exited with ${code}`)));
  });
  const ask = (what) => new Promise((resolve) => { child.once('message', resolve); child.send(what); });
  return { name: 'infra (aedes + gate + RiderService → SQLite)', pid: child.pid, port, auth: true, stats: () => ask('stats'), received: () => ask('received'), profile: (on) => ask(on ? 'profile-start' : 'profile-stop'), loop: (on) => ask(on ? 'phase-start' : 'phase-stop'), stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

async function startMosquitto(dir) {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_dest none\nmax_connections -1\n`);
  const child = spawn(mosquittoBin, ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const ok = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 500 }).then((c) => c.endAsync().then(() => true), () => false);
    if (ok) break;
    await sleep(100);
  }
  const version = spawnSync(mosquittoBin, ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0].replace('mosquitto version ', '');
  return { name: `mosquitto ${version} (relay only)`, pid: child.pid, port, auth: false, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

async function connectAll(url, ids, role, auth) {
  const clients = [];
  for (let i = 0; i < ids.length; i += 50) {
    clients.push(...(await Promise.all(ids.slice(i, i + 50).map(async (id) =>
      mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 10_000, keepalive: 60, ...(auth ? { username: id, password: await issuer.sign(id, role, 600) } : {}) })))));
  }
  return clients;
}

/**
 * A QoS 0 PUBLISH written straight to the mqtt.js client's socket (connect, auth and keepalive stay mqtt.js's):
 * mqtt.js's own publish() costs the load generator more CPU per message than the broker under test spends, and on a
 * 2-core machine the generator then measures itself.
 */
function rawPublish(client, topic, payload) {
  const body = Buffer.byteLength(payload);
  let remaining = 2 + topic.length + body;
  const header = [0x30];
  do { let b = remaining % 128; remaining = Math.floor(remaining / 128); if (remaining > 0) b |= 0x80; header.push(b); } while (remaining > 0);
  const buf = Buffer.allocUnsafe(header.length + 2 + topic.length + body);
  let o = 0;
  for (const b of header) buf[o++] = b;
  buf.writeUInt16BE(topic.length, o);
  o += 2;
  topic.copy(buf, o);
  buf.write(payload, o + topic.length, 'utf8');
  client.stream.write(buf);
}

async function run(broker) {
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const ids = Array.from({ length: riderCount }, (_, i) => `bench-r${i}`);
  const riders = await connectAll(url, ids, 'rider', broker.auth);
  const step = Math.max(1, Math.floor(riderCount / trackerCount));
  const tracked = ids.filter((_, i) => i % step === 0).slice(0, trackerCount);
  // the customers of the tracked riders' orders: a backend grants each one its rider's topic (as delivery does)
  if (broker.auth && trackerRole === 'user') {
    const backend = (await connectAll(url, ['bench-backend'], 'service', true))[0];
    await Promise.all(tracked.map((id) => backend.publishAsync(core.topics.aclGrants, JSON.stringify({ op: 'grant', user: `cust-${id}`, topic: core.topics.fleetLocation(id) }), { qos: 1 })));
    await backend.endAsync();
  }
  const trackers = await connectAll(url, tracked.map((id) => (trackerRole === 'user' ? `cust-${id}` : `track-${id}`)), trackerRole, broker.auth);
  let lat = [];
  await Promise.all(trackers.map(async (t, i) => {
    t.on('message', (_topic, payload) => { lat.push(performance.now() - JSON.parse(payload.toString()).t); });
    const [granted] = await t.subscribeAsync(`fleet/${tracked[i]}/loc`, { qos: 0 });
    if (granted?.qos === 128) throw new Error(`tracker of ${tracked[i]} refused`);
  }));
  // the reference's "ingest": one subscriber to every fix, as the server's bus subscription is for ours
  let relayed = 0;
  const sink = broker.auth ? undefined : (await connectAll(url, ['sink'], 'service', false))[0];
  if (sink) { sink.on('message', () => relayed++); await sink.subscribeAsync('fleet/+/loc', { qos: 0 }); }
  const topicBytes = ids.map((id) => Buffer.from(`fleet/${id}/loc`));
  // each rider walks north-east from its own start; one fix per rider per tick
  const pos = ids.map((_, i) => ({ lat: 52.4 + (i % 40) * 0.005, lng: 13.3 + Math.floor(i / 40) * 0.005 }));
  const results = [];
  // warm-up (not reported): connect-time work (presence, sessions) settles and the JIT warms
  // Riders are independent phones: each tick's fixes go out in `spread` slices evenly across the tick, not all 1000 in
  // the same millisecond. The last phase repeats the stress load as one burst of every rider per tick (session 3's
  // reading): the fix at the end of a burst then waits behind the whole burst, in the broker and in this process.
  const phases = [['warm-up', 2, 2, spread], ['nominal', 1, nominalSeconds, spread], ['stress', rate, seconds, spread], ...(burstPhase ? [['stress, bursts', rate, seconds, 1]] : [])];
  for (const [phase, perRider, secsOfPhase, slices] of phases) {
    const before = broker.stats ? await broker.stats() : undefined;
    const relayed0 = relayed;
    lat = [];
    const tickMs = 1000 / perRider;
    let published = 0;
    const profiling = phase === 'stress' && broker.profile ? broker.profile(true) : undefined;
    if (profiling) await profiling;
    if (broker.loop) await broker.loop(true);
    const cpu0 = cpuMs(broker.pid);
    const main0 = cpuMs(broker.pid, broker.pid);
    const gen0 = process.cpuUsage();
    const lag = monitorEventLoopDelay({ resolution: 5 });
    lag.enable();
    const t0 = performance.now();
    for (let tick = 0; performance.now() - t0 < secsOfPhase * 1000; tick++) {
      for (let slice = 0; slice < slices; slice++) {
        const now = Date.now();
        for (let i = Math.floor((slice * riderCount) / slices); i < Math.floor(((slice + 1) * riderCount) / slices); i++) {
          const p = pos[i];
          p.lat += 0.00001;
          p.lng += 0.00001;
          rawPublish(riders[i], topicBytes[i], `{"lat":${p.lat.toFixed(6)},"lng":${p.lng.toFixed(6)},"speed":4.2,"heading":45,"accuracy":6,"ts":${now},"t":${performance.now().toFixed(3)}}`);
          published++;
        }
        const wait = t0 + (tick + (slice + 1) / slices) * tickMs - performance.now();
        await (wait > 0 ? sleep(wait) : new Promise((r) => setImmediate(r)));
      }
    }
    const pubSecs = (performance.now() - t0) / 1000;
    // drain: until the ingest count stops moving (at most 5 s); the rate counts up to its last change
    const counted = async () => (broker.received ? (await broker.received()) - before.riders.received : relayed - relayed0);
    let last = await counted();
    let tLast = performance.now();
    for (let i = 0; i < 50; i++) {
      await sleep(100);
      const n = await counted();
      if (n !== last) { last = n; tLast = performance.now(); } else if (performance.now() - tLast > 300) break;
    }
    const cpu = cpuMs(broker.pid) - cpu0;
    const mainCpu = cpuMs(broker.pid, broker.pid) - main0;
    const loop = broker.loop ? await broker.loop(false) : undefined;
    const gen = process.cpuUsage(gen0);
    lag.disable();
    if (profiling) await broker.profile(false);
    const secs = Math.max(tLast - t0, pubSecs * 1000) / 1000;
    const after = broker.stats ? await broker.stats() : undefined;
    const ingested = after ? after.riders.received - before.riders.received : relayed - relayed0;
    if (phase !== 'warm-up') results.push({
      broker: broker.name, phase: `${phase} (${perRider}/s each)`, published, offered: Math.round(published / pubSecs), ingested, ingestPerSec: Math.round(ingested / secs),
      rows: after ? after.rows - before.rows : undefined, batches: after ? after.riders.batches - before.riders.batches : undefined,
      dropped: after ? after.gate.dropped + after.riders.dropped - before.gate.dropped - before.riders.dropped : undefined,
      tracked: lat.length, p50: pct(lat, 50), p99: pct(lat, 99), cpuPct: (cpu / (secs * 1000)) * 100, cpuUsPerFix: ingested ? (cpu * 1000) / ingested : NaN,
      mainUsPerFix: ingested ? (mainCpu * 1000) / ingested : NaN, loop, genPct: ((gen.user + gen.system) / 1000 / (secs * 1000)) * 100, genLagP99: lag.percentile(99) / 1e6,
    });
  }
  await Promise.all([...riders, ...trackers, ...(sink ? [sink] : [])].map((c) => c.endAsync(true)));
  return results;
}

const load0 = loadavg()[0].toFixed(1);
const rows = [];
// --no-reference: our stack only (A/B runs of our own changes)
for (const start of [startOurs, ...(mosquittoBin && !args.includes('--no-reference') ? [startMosquitto] : [])]) {
  const dir = mkdtempSync(join(tmpdir(), 'infra-bench-telemetry-'));
  const broker = await start(dir);
  try {
    rows.push(...(await run(broker)));
  } finally {
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`\nbench:telemetry — ${riderCount} riders (one mqtt.js connection each), QoS 0: nominal 1 fix/s each for ${nominalSeconds} s, then stress ${rate} fixes/s each for ${seconds} s, each tick's fixes in ${spread} even slices${burstPhase ? ', then the stress load again as one burst of every rider per tick' : ''}; ${trackerCount} ${trackerRole === 'user' ? 'customer' : 'backend (service-token)'} tracking subscribers; loopback, ${nproc} cores, load average ${load0} at start and ${loadavg()[0].toFixed(1)} at end, ${new Date().toISOString()}${process.env.BENCH_MQ_RING === '0' ? '; mqemitter plain arrays (BENCH_MQ_RING=0)' : ''}${process.env.BENCH_FIX_WRITER === 'loop' ? '; fix batches written on the event loop (BENCH_FIX_WRITER=loop)' : ''}\n`);
console.log('| run | phase | fixes published | offered/s | ingested | ingested/s | rows in SQL (transactions) | dropped | tracker deliveries | p50 ms | p99 ms | process CPU % | CPU µs/fix | main thread CPU µs/fix | main-thread loop busy % | loop delay p99 / max ms | generator CPU % | generator loop delay p99 ms |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) {
  console.log(`| ${r.broker} | ${r.phase} | ${r.published} | ${r.offered} | ${r.ingested} | ${r.ingestPerSec} | ${r.rows === undefined ? '—' : `${r.rows} (${r.batches})`} | ${r.dropped ?? '—'} | ${r.tracked} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuPct.toFixed(0)} | ${r.cpuUsPerFix.toFixed(1)} | ${r.mainUsPerFix.toFixed(1)} | ${r.loop ? (r.loop.elu * 100).toFixed(0) : '—'} | ${r.loop ? `${r.loop.delayP99.toFixed(1)} / ${r.loop.delayMax.toFixed(1)}` : '—'} | ${r.genPct.toFixed(0)} | ${r.genLagP99.toFixed(1)} |`);
}
if (!mosquittoBin && !args.includes('--no-reference')) console.log('\nmosquitto is not installed (apt-get install mosquitto): no reference row.');
const verdict = (r) => `${r.ingestPerSec} fixes/s, p99 ${r.p99.toFixed(1)} ms → ${r.ingestPerSec >= 20000 && r.p99 < 50 ? 'met' : 'NOT met'}`;
console.log(`\ngoal: ≥ 20000 fixes/s ingested with p99 < 50 ms (ingested/s: from the first publish to the last fix ingested)`);
console.log(`  stress, fixes spread over each tick: ${verdict(rows[1])}`);
if (burstPhase) console.log(`  stress, every rider in one burst per tick (session 3's reading): ${verdict(rows[2])}`);
console.log(`load average ${load0} at start, ${loadavg()[0].toFixed(1)} at end: on a loaded machine compare CPU µs per fix, not latencies`);
