#!/usr/bin/env node
// HLS fan-out: N simulated viewers (each connection alternates playlist and segment requests) against the
// real `infra up` gateway's /live/… route, then against nginx serving the same files, same client.
// Fair by construction: the same files on disk (a stream created through the API, its rendition playlist and
// six 200 KB segments), the same autocannon client process and load, one server process each (the whole
// `infra up` stack, auth hook, metrics and the route's playback check included; nginx as installed by .ci/run,
// 1 worker, sendfile on, access_log off, no open_file_cache), one after the other. Load averages are printed.
// Usage: node scripts/bench-media-fanout.mjs [--viewers 1000 --seconds 8 --profile DIR]   (npm run bench:media runs it too)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const viewers = Math.min(Number(opt('viewers', '1000')), 2000);
const seconds = Math.min(Number(opt('seconds', '8')), 30);
const bin = fileURLToPath(new URL('../bin/infra.js', import.meta.url));
const autocannonPath = fileURLToPath(new URL('../node_modules/autocannon/autocannon.js', import.meta.url));
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
const loadAvg = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadAtStart = loadAvg();

const root = mkdtempSync(join(tmpdir(), 'infra-bench-fanout-'));
chmodSync(root, 0o755);
const dir = join(root, 'stack');
const init = spawnSync(process.execPath, [bin, 'init', dir, '--template', 'live', '--yes'], { encoding: 'utf8' });
if (init.status !== 0) throw new Error(init.stderr);

const profileDir = opt('profile', ''); // --profile DIR: a V8 CPU profile of the gateway process (node --cpu-prof)
const up = spawn(process.execPath, [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), bin, 'up', '--dir', dir, ...['http.port', 'mqtt.port', 'media.rtmp.port', 'media.http.port'].flatMap((k) => ['--set', `${k}=0`]), '--set', 'log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
up.stdout.on('data', (d) => (out += d));
await new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error(`infra up not ready: ${out}`)), 30_000);
  const check = () => out.includes('Press Ctrl-C') && (clearTimeout(t), resolve());
  up.stdout.on('data', check);
});
const runDir = join(dir, 'data', 'run');
const state = JSON.parse(readFileSync(join(runDir, readdirSync(runDir).find((f) => f.endsWith('.json'))), 'utf8'));
const gatewayPort = state.endpoints.server.find((e) => e.name === 'api').port;
const created = spawnSync(process.execPath, [bin, 'stream', 'create', 'fanout', '--dir', dir, '--json'], { encoding: 'utf8' });
if (created.status !== 0) throw new Error(created.stderr);
const STREAM = JSON.parse(created.stdout).id;

// a live stream as the ladder leaves it: a playlist of 6 segments of 2 s at ~800 kb/s (200 KB each)
const live = join(dir, 'data', 'media', 'live', STREAM);
mkdirSync(join(live, '0'), { recursive: true });
writeFileSync(join(live, 'master.m3u8'), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=900000,RESOLUTION=640x360\n0/index.m3u8\n');
writeFileSync(join(live, '0', 'index.m3u8'), `#EXTM3U\n#EXT-X-VERSION:6\n#EXT-X-TARGETDURATION:2\n#EXT-X-MEDIA-SEQUENCE:0\n${[0, 1, 2, 3, 4, 5].map((i) => `#EXTINF:2.000000,\nseg_0000${i}.ts\n`).join('')}`);
for (let i = 0; i < 6; i++) writeFileSync(join(live, '0', `seg_0000${i}.ts`), Buffer.alloc(200_000, 0x47));
for (const d of [join(dir, 'data'), join(dir, 'data', 'media'), join(dir, 'data', 'media', 'live'), live, join(live, '0')]) chmodSync(d, 0o755);


function freePort() {
  return new Promise((resolve) => { const s = createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); }); });
}

/** CPU seconds (user + system) of a process and its children still running (nginx: master + worker). */
function cpuOf(pid) {
  let ticks = 0;
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(p) === pid || Number(f[1]) === pid) ticks += Number(f[11]) + Number(f[12]);
    } catch { /* gone */ }
  }
  return ticks / 100;
}

/** The load, with the server's CPU over it: CPU per request survives a busy machine better than requests/s. */
function loadWithCpu(port, pid) {
  const c0 = cpuOf(pid);
  const r = load(port);
  return { ...r, cpuMsPerKReq: ((cpuOf(pid) - c0) * 1e6) / Math.max(1, r.total) };
}

function load(port) {
  const script = `
    const autocannon = require(${JSON.stringify(autocannonPath)});
    autocannon({ url: 'http://127.0.0.1:${port}', connections: ${viewers}, duration: ${seconds}, timeout: 10,
      requests: [{ path: '/live/${STREAM}/0/index.m3u8' }, { path: '/live/${STREAM}/0/seg_00003.ts' }] },
      (err, r) => { if (err) throw err; process.stdout.write(JSON.stringify({ total: r.requests.total, rps: r.requests.average, p99: r.latency.p99, p50: r.latency.p50, errors: r.errors, non2xx: r.non2xx, timeouts: r.timeouts, mbps: r.throughput.average * 8 / 1e6 })); });`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', maxBuffer: 1e7, timeout: (seconds + 30) * 1000 });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

const probe = await fetch(`http://127.0.0.1:${gatewayPort}/live/${STREAM}/0/seg_00003.ts`);
if (probe.status !== 200) throw new Error(`the gateway answered ${probe.status} for a segment`);
await probe.arrayBuffer();
const ours = loadWithCpu(gatewayPort, up.pid);
up.kill('SIGTERM');
await new Promise((r) => up.once('exit', r));

let ref;
if (NGINX) {
  const prefix = join(root, 'nginx');
  mkdirSync(prefix, { recursive: true });
  chmodSync(prefix, 0o777);
  const port = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, `worker_processes 1;\npid ${prefix}/nginx.pid;\nerror_log ${prefix}/error.log warn;\nevents { worker_connections 4096; }\nhttp {\n  access_log off;\n  sendfile on;\n  client_body_temp_path ${prefix}/cb; proxy_temp_path ${prefix}/pt; fastcgi_temp_path ${prefix}/ft; uwsgi_temp_path ${prefix}/ut; scgi_temp_path ${prefix}/st;\n  types { application/vnd.apple.mpegurl m3u8; video/mp2t ts; }\n  server { listen 127.0.0.1:${port}; root ${join(dir, 'data', 'media')}; }\n}\n`);
  const ngx = spawn(NGINX, ['-c', conf, '-p', prefix, '-g', 'daemon off;'], { stdio: 'ignore' });
  await new Promise((r) => setTimeout(r, 500));
  ref = loadWithCpu(port, ngx.pid);
  ngx.kill('SIGQUIT');
  await new Promise((r) => ngx.once('exit', r));
}
rmSync(root, { recursive: true, force: true });

console.log(`\nHLS fan-out — ${viewers} viewers for ${seconds} s, each alternating playlist (0/index.m3u8) and a 200 KB segment of a stream created through the API; loopback, one autocannon client process, the same files for both servers, one server at a time`);
console.log(`load average (1/5/15 min): ${loadAtStart} at start, ${loadAvg()} at end — figures are comparable only on a quiet machine\n`);
console.log('| server | req/s | p50 ms | p99 ms | Mb/s | server CPU ms per 1000 requests | errors + non-2xx + timeouts |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
const row = (name, r) => console.log(`| ${name} | ${Math.round(r.rps)} | ${r.p50} | ${r.p99} | ${Math.round(r.mbps)} | ${Math.round(r.cpuMsPerKReq)} | ${r.errors + r.non2xx + r.timeouts} |`);
row('infra gateway (`infra up`, 1 Node process, /live/… route)', ours);
if (ref) row(`nginx 1 worker (${NGINX}), sendfile, same files`, ref);
if (ref) console.log(`\nours / nginx throughput: ${(ours.rps / ref.rps).toFixed(2)}x (goal >= 0.5x); nginx / ours CPU per request: ${(ref.cpuMsPerKReq / ours.cpuMsPerKReq).toFixed(2)}x (what the throughput ratio tends to when both servers are CPU-bound on a quiet machine)`);
else console.log('\n(nginx not installed: no reference)');
