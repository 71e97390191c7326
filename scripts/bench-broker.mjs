#!/usr/bin/env node
// Raw MQTT pub-sub, our broker (aedes + auth + ACL + IM hooks + LevelDB persistence, in its own process)
// side by side with Debian's mosquitto on a free loopback port: deliveries/s, latency p50/p99 and broker CPU
// per delivered message (utime+stime of the broker process from /proc, so the clients' CPU is not counted).
// Traffic: a rider publishes GPS fixes to fleet/r1/loc (ACL-checked), a service subscribes to fleet/+/loc.
// Bounded: --count messages per run (default 20000) and --timeout seconds per run (default 30).
// Each row is the median (by CPU per message) of --runs runs (default 3) after one warm-up run.
// Usage: npm run bench:broker [-- --count 20000 --timeout 30 --runs 3]   (BENCH_CPU_PROF=dir writes a CPU profile of our broker)
// IM end to end (1:1 and a 100-member group) with mosquitto's raw QoS 1 as the reference:
//        npm run bench:im [-- --im-count 20000 --im-pairs 20 --im-window 20 --group-count 300 --im-only direct|group
//                             --im-senders-listen 0|1 --im-warmup 4000 --im-runs 3]
//   Senders subscribe to their own inbox im/u/{sender} (the ack of each send, carrying their own copy of the message,
//   arrives there), as the SDK does. The 1:1 run is made twice, listening and deaf (as before 2026-11-25: the broker then wrote acks and copies
//   to no one); --im-senders-listen 1|0 runs only one of them.
//   1:1 is --im-pairs direct conversations at once (sender a_i → receiver b_i, each its own MQTT connection), each
//   sender keeping up to --im-window im/send publishes unacknowledged, --im-count messages in all: the broker (one
//   Node thread storing and delivering) is the bottleneck, not one client's pacing or one socket's round trips.
//   The group run is one sender into a 100-member group (99 receivers). Both start after a warm-up: --im-warmup 1:1
//   messages (default 4000; mosquitto's reference row gets a whole unreported run of --count messages first).
//   The listening 1:1 run is made --im-runs times, each followed by a run of the reference (both brokers stay up), and
//   the medians are compared: the machine's speed drifts within minutes.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const root = join(fileURLToPath(new URL('.', import.meta.url)), '..');
const secret = 'bench-'.repeat(8);

// ---- child mode: run our broker alone in this process and print its port
if (args[0] === '--serve') {
  const core = await import(pathToFileURL(join(root, 'packages/core/dist/index.js')).href);
  const { startBroker } = await import(pathToFileURL(join(root, 'packages/broker/dist/index.js')).href);
  // the IM run sends as fast as it can: lift the per-user rate limit for it. A data key, as `infra init` writes one:
  // message bodies are sealed at rest (AES-256-GCM) as in a real deployment
  const config = core.parseConfigText('version: 1\nmqtt:\n  port: 0\nim:\n  maxGroupSize: 1000\n  sendRate: 1000000\n  sendBurst: 1000000\n', 'infra.yaml', {}, []);
  const broker = await startBroker({ config, secrets: { jwtSecret: secret, streamKeySalt: secret, dataKeys: `bench:${secret}` }, logger: core.createLogger({ level: 'error' }), dataDir: args[1] }, { issuer: new core.TokenIssuer(secret) });
  const svc = { sub: 'bench', role: 'service', exp: 0 };
  const pairs = Number(args[2] ?? '1');
  const direct = [];
  for (let i = 0; i < pairs; i++) direct.push((await broker.im.create(svc, { kind: 'direct', members: [`im-a${i}`, `im-b${i}`] })).conversation.id);
  const group = await broker.im.create(svc, { kind: 'group', members: Array.from({ length: 100 }, (_, i) => `g${i}`) });
  process.stdout.write(`CONV ${direct.join(',')} ${group.conversation.id}\n`);
  process.stdout.write(`PORT ${broker.endpoints[0].port}\n`);
  // `mark` / `report` on stdin: bytes the broker allocated on the JS heap in between (usage growth between GCs, from
  // v8.GCProfiler) and the GC time; BENCH_HEAP_PROF=dir also writes a sampling allocation profile (collected objects
  // included) of the same span, BENCH_CPU_WINDOW=dir a CPU profile of it (BENCH_CPU_PROF covers the whole process):
  // both survive load better than rates
  const v8 = await import('node:v8');
  let gcp, used0 = 0, session;
  const used = () => v8.getHeapStatistics().used_heap_size;
  const heapProf = process.env.BENCH_HEAP_PROF;
  const cpuWindow = process.env.BENCH_CPU_WINDOW;
  const post = (m, p) => new Promise((res, rej) => session.post(m, p, (e, r) => (e ? rej(e) : res(r))));
  const { createInterface } = await import('node:readline');
  createInterface({ input: process.stdin }).on('line', async (line) => {
    if (line === 'mark') {
      if (heapProf || cpuWindow) {
        const { Session } = await import('node:inspector');
        session = new Session();
        session.connect();
        if (heapProf) await post('HeapProfiler.startSampling', { samplingInterval: 1024, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
        if (cpuWindow) {
          await post('Profiler.enable');
          await post('Profiler.start');
        }
      }
      gcp = new v8.GCProfiler();
      gcp.start();
      used0 = used();
      process.stdout.write('MARKED\n');
    } else if (line === 'report' && gcp) {
      const end = used();
      const { statistics } = gcp.stop();
      let bytes = 0, gcUs = 0, prev = used0;
      for (const g of statistics) {
        bytes += Math.max(0, g.beforeGC.heapStatistics.usedHeapSize - prev);
        prev = g.afterGC.heapStatistics.usedHeapSize;
        gcUs += g.cost;
      }
      bytes += Math.max(0, end - prev);
      if (session) {
        const { writeFileSync: write } = await import('node:fs');
        if (heapProf) write(join(heapProf, `broker-${Date.now()}.heapprofile`), JSON.stringify((await post('HeapProfiler.stopSampling')).profile));
        if (cpuWindow) write(join(cpuWindow, `broker-${Date.now()}.cpuprofile`), JSON.stringify((await post('Profiler.stop')).profile));
        session.disconnect();
        session = undefined;
      }
      process.stdout.write(`ALLOC ${bytes} ${gcUs} ${statistics.length}\n`);
    }
  });
  process.on('SIGTERM', () => void broker.close().then(() => process.exit(0)));
  await new Promise(() => undefined);
}

const count = Number(opt('count', '20000'));
const timeoutS = Number(opt('timeout', '30'));
const repeats = Number(opt('runs', '3'));

const which = spawnSync('sh', ['-c', 'command -v mosquitto || ls /usr/sbin/mosquitto'], { encoding: 'utf8' });
const mosquittoBin = which.status === 0 ? which.stdout.trim().split('\n')[0] : '';
const imMode = args.includes('--im');
if (!mosquittoBin && !imMode) {
  console.log('bench:broker needs mosquitto as the reference and it is not installed (apt-get install mosquitto); nothing measured.');
  process.exit(0);
}

const { default: mqtt } = await import('mqtt');
const core = await import(pathToFileURL(join(root, 'packages/core/dist/index.js')).href);
const issuer = new core.TokenIssuer(secret);

const freePort = () => new Promise((resolve) => { const s = createServer(); s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
// percent of the run's wall time (seconds) that `ms` of CPU time is
const pctOfWall = (ms, secs) => (100 * ms) / (secs * 1000);
// CPU time (ms) this process, which runs every MQTT client of a run, used since `since` (process.cpuUsage)
const ownCpuMs = (since) => { const u = process.cpuUsage(since); return (u.user + u.system) / 1000; };
// the run in the middle when ordered by key
const median = (runs, key) => [...runs].sort((x, y) => x[key] - y[key])[Math.floor(runs.length / 2)];
const cpuMs = (pid) => { const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' '); return ((Number(f[11]) + Number(f[12])) * 1000) / 100; };
// write and read system calls of a process so far (/proc/PID/io: socket writes and reads, and SQLite's file writes)
const sysCalls = (pid) => { const io = readFileSync(`/proc/${pid}/io`, 'utf8'); const n = (k) => Number(new RegExp(`${k}: (\\d+)`).exec(io)?.[1] ?? NaN); return { w: n('syscw'), r: n('syscr') }; };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s.length ? s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] : NaN; };

async function startOurs(dir, pairs = 1) {
  const child = spawn(process.execPath, [...(process.env.BENCH_CPU_PROF ? ['--cpu-prof', '--cpu-prof-dir', process.env.BENCH_CPU_PROF] : []), fileURLToPath(import.meta.url), '--serve', dir, String(pairs)], { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const port = await new Promise((resolve, reject) => {
    child.stdout.on('data', (d) => { out += d; const m = /PORT (\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    child.once('exit', (code) => reject(new Error(`our broker exited with ${code}`)));
  });
  const [directConvs, groupConv] = /CONV (\S+) (\S+)/.exec(out)?.slice(1) ?? [];
  // the broker's JS-heap allocation and GC time between mark() and report()
  const ask = (cmd, re) => new Promise((resolve) => {
    const onData = () => { const m = re.exec(out); if (m) { child.stdout.off('data', onData); out = ''; resolve(m); } };
    child.stdout.on('data', onData);
    child.stdin.write(`${cmd}\n`);
  });
  const mark = async () => { await ask('mark', /MARKED\n/); };
  const report = async () => { const m = await ask('report', /ALLOC (\d+) ([\d.]+) (\d+)\n/); return { allocBytes: Number(m[1]), gcUs: Number(m[2]), gcs: Number(m[3]) }; };
  return { name: 'infra (aedes, auth+ACL on)', pid: child.pid, port, auth: true, mark, report, directConvs: directConvs?.split(',') ?? [], groupConv, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

async function startMosquitto(dir) {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  // max_queued_messages 0 = no cap (mosquitto's default of 1000 drops QoS 1 messages for a subscriber that falls
  // behind on a loaded machine, and the run then waits for the timeout); aedes queues without a cap too
  writeFileSync(conf, `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nlog_dest none\n`);
  const child = spawn(mosquittoBin, ['-c', conf], { stdio: 'ignore' });
  for (let i = 0; i < 50; i++) {
    const ok = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 500 }).then((c) => c.endAsync().then(() => true), () => false);
    if (ok) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return { name: 'mosquitto ' + (spawnSync(mosquittoBin, ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0].replace('mosquitto version ', '')), pid: child.pid, port, auth: false, stop: () => new Promise((r) => { child.once('exit', r); child.kill('SIGTERM'); }) };
}

async function run(broker, qos) {
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const creds = async (user, role) => (broker.auth ? { username: user, password: await issuer.sign(user, role, 600) } : {});
  const sub = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...(await creds('bench-svc', 'service')) });
  const pub = await mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, ...(await creds('r1', 'rider')) });
  await sub.subscribeAsync('fleet/+/loc', { qos });
  const lat = [];
  let got = 0;
  const done = new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutS * 1000);
    sub.on('message', (_t, payload) => {
      lat.push(performance.now() - Number(payload.subarray(6, 26).toString()));
      if (++got >= count) { clearTimeout(timer); resolve(); }
    });
  });
  const cpu0 = cpuMs(broker.pid);
  const sys0 = sysCalls(broker.pid);
  const me0 = process.cpuUsage();
  const t0 = performance.now();
  // a valid fix (the broker's telemetry gate drops anything else on fleet/{id}/loc), send time at bytes 6..26
  const pad = ',"lat":48.13,"lng":11.57}';
  // keep at most 200 publishes outstanding so QoS 1 measures the broker, not a queue in the client
  let inflight = 0;
  for (let i = 0; i < count; i++) {
    while (inflight >= 200) await new Promise((r) => setImmediate(r));
    inflight++;
    pub.publish('fleet/r1/loc', `{"t":"${performance.now().toFixed(3).padStart(20, '0')}","ts":${Date.now()}${pad}`, { qos }, () => { inflight--; });
    if (performance.now() - t0 > timeoutS * 1000) break;
  }
  await done;
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuMs(broker.pid) - cpu0;
  const sys1 = sysCalls(broker.pid);
  const own = ownCpuMs(me0);
  await pub.endAsync();
  await sub.endAsync();
  return { broker: broker.name, qos, delivered: got, perSec: Math.round(got / secs), p50: pct(lat, 50), p99: pct(lat, 99), cpuUsPerMsg: got ? (cpu * 1000) / got : NaN, cpuPct: pctOfWall(cpu, secs), clientCpuPct: pctOfWall(own, secs), writesPerDelivery: got ? (sys1.w - sys0.w) / got : NaN, readsPerDelivery: got ? (sys1.r - sys0.r) / got : NaN };
}

/**
 * IM end to end: each flow's sender publishes QoS 1 im/send messages into its conversation, keeping at most `window`
 * unacknowledged; every receiver counts the `message` events on its inbox. All flows run at once. Deliveries =
 * messages × receivers; latency from publish to each delivery.
 */
async function runIm(broker, label, flows, messagesPerFlow, window, sendersListen = true) {
  const url = `mqtt://127.0.0.1:${broker.port}`;
  const connect = async (user) => mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, username: user, password: await issuer.sign(user, 'user', 600) });
  const receivers = flows.flatMap((f) => f.receivers);
  const subs = await Promise.all(receivers.map(connect));
  const pubs = await Promise.all(flows.map((f) => connect(f.sender)));
  const expected = messagesPerFlow * receivers.length;
  const runId = Math.random().toString(36).slice(2, 10);
  const lat = [];
  let got = 0;
  const done = new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutS * 1000);
    for (const c of subs) {
      c.on('message', (_t, payload) => {
        const e = JSON.parse(payload.toString());
        if (e.kind !== 'message') return;
        lat.push(performance.now() - Number(e.message.body.text));
        if (++got >= expected) { clearTimeout(timer); resolve(); }
      });
    }
  });
  await Promise.all(subs.map((c, i) => c.subscribeAsync(`im/u/${receivers[i]}`, { qos: 1 })));
  // senders listen on their own inbox, as the SDK does (the ack of each send and the sender's own copy of the message
  // arrive there), so the broker writes what it writes for a real client; only the receivers' deliveries are counted
  if (sendersListen) await Promise.all(pubs.map((c, k) => c.subscribeAsync(`im/u/${flows[k].sender}`, { qos: 1 })));
  await broker.mark?.();
  const cpu0 = cpuMs(broker.pid);
  const sys0 = sysCalls(broker.pid);
  const me0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(flows.map(async (f, k) => {
    let inflight = 0;
    for (let i = 0; i < messagesPerFlow; i++) {
      while (inflight >= window) await new Promise((r) => setImmediate(r));
      inflight++;
      pubs[k].publish('im/send', JSON.stringify({ convId: f.convId, clientMsgId: `${runId}-${k}-${i}`, type: 'text', body: { text: performance.now().toFixed(3) } }), { qos: 1 }, () => { inflight--; });
      if (performance.now() - t0 > timeoutS * 1000) break;
    }
  }));
  await done;
  const secs = (performance.now() - t0) / 1000;
  const cpu = cpuMs(broker.pid) - cpu0;
  const sys1 = sysCalls(broker.pid);
  const own = ownCpuMs(me0);
  const heap = await broker.report?.();
  await Promise.all([...pubs, ...subs].map((c) => c.endAsync()));
  const sent = messagesPerFlow * flows.length;
  return {
    broker: label, qos: 1, delivered: got, perSec: Math.round(got / secs), p50: pct(lat, 50), p99: pct(lat, 99), cpuUsPerMsg: got ? (cpu * 1000) / got : NaN, cpuPct: pctOfWall(cpu, secs), clientCpuPct: pctOfWall(own, secs),
    writesPerDelivery: got ? (sys1.w - sys0.w) / got : NaN, readsPerDelivery: got ? (sys1.r - sys0.r) / got : NaN,
    // per message sent (one im/send), and GC's share of the broker's CPU
    ...(heap ? { allocKbPerMsg: heap.allocBytes / 1024 / sent, gcUsPerDelivery: got ? heap.gcUs / got : NaN, gcPct: cpu ? (100 * heap.gcUs) / 1000 / cpu : NaN } : {}),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'infra-bench-broker-'));
if (imMode) {
  const imCount = Number(opt('im-count', '20000'));
  const pairs = Number(opt('im-pairs', '20'));
  const window = Number(opt('im-window', '20'));
  const groupCount = Number(opt('group-count', '300'));
  const only = opt('im-only', 'all');
  const listen = opt('im-senders-listen', 'both'); // 1, 0 or both (1:1 only; the group's sender always listens)
  const imRuns = Number(opt('im-runs', '3'));
  const rows = [];
  const pairsSeen = []; // [ours, reference] of each alternation
  try {
    // both brokers run from the start, and the 1:1 reading alternates with the reference's: this machine's speed drifts
    // by a third within minutes, which one run of each, minutes apart, turned into the ratio
    const m = mosquittoBin ? await startMosquitto(dir) : undefined;
    if (!m) console.log('mosquitto is not installed (apt-get install mosquitto): no reference row.');
    const b = await startOurs(dir, pairs);
    try {
      if (m) await run(m, 1); // warm-up, not reported
      const direct = b.directConvs.map((convId, i) => ({ convId, sender: `im-a${i}`, receivers: [`im-b${i}`] }));
      if (only !== 'group') {
        await runIm(b, 'warm-up', direct, Math.ceil(Number(opt('im-warmup', '4000')) / pairs), window);
        const per = Math.ceil(imCount / pairs);
        if (listen !== '0') {
          const label = `IM 1:1 (${pairs} pairs × ${per} msgs, ${window} in flight each), senders listening as the SDK does`;
          for (let i = 0; i < imRuns; i++) {
            const ours = await runIm(b, label, direct, per, window, true);
            pairsSeen.push([ours, m ? await run(m, 1) : undefined]);
          }
          rows.push({ ...median(pairsSeen.map((x) => x[0]), 'perSec'), broker: imRuns > 1 ? `${label}, median of ${imRuns}` : label });
        }
        if (listen !== '1') rows.push(await runIm(b, `IM 1:1, same, deaf senders (the reading before 2026-11-25)`, direct, per, window, false));
      }
      if (only !== 'direct') {
        const members = Array.from({ length: 99 }, (_, i) => `g${i + 1}`);
        if (only === 'group') await runIm(b, 'warm-up', [{ convId: b.groupConv, sender: 'g0', receivers: members }], 20, 100);
        rows.push(await runIm(b, `IM group of 100 (${groupCount} msgs × 99)`, [{ convId: b.groupConv, sender: 'g0', receivers: members }], groupCount, 100));
      }
      if (m) {
        const refs = pairsSeen.map((x) => x[1]);
        if (refs.length === 0) refs.push(await run(m, 1));
        rows.push({ ...median(refs, 'perSec'), broker: `${m.name} raw QoS 1 (reference${refs.length > 1 ? `, median of ${refs.length}, each run right after one of ours` : ''})` });
      }
    } finally {
      await b.stop();
      await m?.stop();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nbench:im — im/send (QoS 1) → stored in im.db with seq, body sealed (AES-256-GCM) → delivered to each member's im/u (receivers' deliveries counted), loopback, ${new Date().toISOString()}\n`);
  // broker CPU %: the broker process's CPU time over the run's wall time; near 100 means the broker (one thread) was the bottleneck
  // client CPU %: this process (every MQTT client of the run, one thread) over the run's wall time; near 100 means
  // the clients, not the broker, set the pace
  // KB/msg: bytes our broker allocated on its JS heap per im/send; GC: pause time per delivery and its share of the broker's CPU
  // write/read syscalls: the broker's write-type (socket writes, SQLite file writes) and read-type system calls per delivery
  console.log('| run | deliveries | deliveries/s | p50 ms | p99 ms | broker CPU µs/delivery | broker CPU % | client CPU % | KB allocated/msg | GC µs/delivery (% of CPU) | write / read syscalls per delivery |');
  console.log('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  const opt1 = (x, d, f = (v) => v.toFixed(d)) => (x === undefined || Number.isNaN(x) ? '–' : f(x));
  for (const r of rows) console.log(`| ${r.broker} | ${r.delivered} | ${r.perSec} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUsPerMsg.toFixed(1)} | ${r.cpuPct.toFixed(0)} | ${r.clientCpuPct.toFixed(0)} | ${opt1(r.allocKbPerMsg, 1)} | ${opt1(r.gcUsPerDelivery, 1, (v) => `${v.toFixed(1)} (${r.gcPct.toFixed(0)} %)`)} | ${opt1(r.writesPerDelivery, 2)} / ${opt1(r.readsPerDelivery, 2)} |`);
  console.log(`load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const ref = rows.find((r) => r.broker.includes('reference'));
  if (ref) for (const r of rows.filter((x) => x !== ref)) console.log(`${r.broker}: ${(r.perSec / ref.perSec).toFixed(2)}× mosquitto's raw QoS 1 deliveries/s`);
  if (pairsSeen.length > 1 && pairsSeen[0][1]) console.log(`IM 1:1 (listening) run by run, each against the reference run right after it: ${pairsSeen.map(([o, r]) => `${o.perSec}/s vs ${r.perSec}/s = ${(o.perSec / r.perSec).toFixed(2)}×`).join('; ')}`);
  process.exit(0);
}

const rows = [];
try {
  for (const start of [startOurs, startMosquitto]) {
    const b = await start(dir);
    try {
      for (const qos of [0, 1]) {
        await run(b, qos); // warm-up (JIT, sockets); not reported
        // the machine is shared: report the run with the median CPU per message of several
        const runs = [];
        for (let i = 0; i < repeats; i++) runs.push(await run(b, qos));
        rows.push(median(runs, 'cpuUsPerMsg'));
      }
    } finally {
      await b.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

console.log(`\nbench:broker — median of ${repeats} runs of ${count} messages, 1 publisher → 1 subscriber, loopback, ${new Date().toISOString()}\n`);
console.log('| broker | QoS | delivered | deliveries/s | p50 ms | p99 ms | broker CPU µs/msg | write / read syscalls per msg |');
console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows) console.log(`| ${r.broker} | ${r.qos} | ${r.delivered} | ${r.perSec} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.cpuUsPerMsg.toFixed(1)} | ${r.writesPerDelivery.toFixed(2)} / ${r.readsPerDelivery.toFixed(2)} |`);
for (const qos of [0, 1]) {
  const ours = rows.find((r) => r.qos === qos && r.broker.startsWith('infra'));
  const ref = rows.find((r) => r.qos === qos && r.broker.startsWith('mosquitto'));
  if (ours && ref) console.log(`QoS ${qos}: CPU per message ${(ours.cpuUsPerMsg / ref.cpuUsPerMsg).toFixed(2)}× mosquitto, throughput ${(ours.perSec / ref.perSec).toFixed(2)}× mosquitto`);
}
