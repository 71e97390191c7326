#!/usr/bin/env node
// Measures `infra up`: wall time from spawn to the ready block (cold: a fresh data dir each run),
// the time the stack reports for itself, and the RSS of the idle stack. Prints a table.
// Usage: npm run bench:up [-- --runs 5 --template commerce]
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const runs = Number(opt('runs', '5'));
const template = opt('template', 'commerce');
const bin = fileURLToPath(new URL('../bin/infra.js', import.meta.url));
const ports = ['http.port', 'mqtt.port', 'media.rtmp.port', 'media.http.port'].flatMap((k) => ['--set', `${k}=0`]);

const root = mkdtempSync(join(tmpdir(), 'infra-bench-up-'));
const dir = join(root, 'stack');
const init = spawnSync(process.execPath, [bin, 'init', dir, '--template', template, '--yes'], { encoding: 'utf8' });
if (init.status !== 0) throw new Error(init.stderr);

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function once(i) {
  rmSync(join(dir, 'data'), { recursive: true, force: true }); // cold: no database, no logs
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [bin, 'up', '--dir', dir, ...ports], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', async (d) => {
      out += d;
      if (!out.includes('Press Ctrl-C to stop.')) return;
      const wallMs = performance.now() - t0;
      const reported = Number(/is ready \(([\d.]+) s\)/.exec(out)?.[1]) * 1000;
      await new Promise((r) => setTimeout(r, 3000)); // idle
      const rss = rssKiB(child.pid);
      const t1 = performance.now();
      child.kill('SIGTERM');
      child.once('exit', (code) => resolve({ run: i + 1, wallMs, reportedMs: reported, idleRssMiB: rss / 1024, stopMs: performance.now() - t1, exit: code }));
    });
    child.once('exit', (code) => { if (!out.includes('Press Ctrl-C')) reject(new Error(`exit ${code}: ${err}`)); });
  });
}

const results = [];
for (let i = 0; i < runs; i++) results.push(await once(i));
rmSync(root, { recursive: true, force: true });

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = Math.floor(s.length / 2); return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const baseline = (() => {
  const t0 = performance.now();
  spawnSync(process.execPath, ['-e', '0']);
  return performance.now() - t0;
})();

console.log(`infra up (${template} template, ${runs} cold runs, node ${process.version})`);
console.log('run  spawn→ready block  stack-reported  idle RSS   SIGTERM→exit  exit');
for (const r of results) console.log(`${String(r.run).padEnd(4)} ${r.wallMs.toFixed(0).padStart(10)} ms ${r.reportedMs.toFixed(0).padStart(12)} ms ${r.idleRssMiB.toFixed(1).padStart(7)} MiB ${r.stopMs.toFixed(0).padStart(10)} ms  ${r.exit}`);
console.log(`median: ${median(results.map((r) => r.wallMs)).toFixed(0)} ms to the ready block (of which the stack itself ${median(results.map((r) => r.reportedMs)).toFixed(0)} ms), idle RSS ${median(results.map((r) => r.idleRssMiB)).toFixed(1)} MiB`);
console.log(`reference: a bare \`node -e 0\` takes ${baseline.toFixed(0)} ms here`);
