#!/usr/bin/env node
// Runs `infra bench dispatch` on every instance file of a directory (or the names given with --only) and prints a
// table: instance, vehicles, distance, best known (vehicles and distance), gap, time; then the average gap.
// Usage: node scripts/bench-dispatch-set.mjs --dir /tmp/solomon/100 --bks /tmp/solomon/bks.csv [--time-limit 5]
//        [--only C101,R101,...] [--seed 1] [--json]
// The BKS file is CSV `instance,vehicles,distance` (lines starting with # are comments); names match file names
// without extension, case-insensitively. Instance files are not part of the repository (see docs/dispatch-routing.md).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const flag = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const dir = flag('dir');
const bksFile = flag('bks');
const timeLimit = flag('time-limit', '5');
const seed = flag('seed', '1');
const only = flag('only')?.split(',').map((s) => s.trim().toUpperCase());
const asJson = args.includes('--json');
if (!dir || !bksFile) {
  console.error('usage: bench-dispatch-set.mjs --dir DIR --bks FILE [--time-limit S] [--only A,B] [--seed N] [--json]');
  process.exit(2);
}
const bks = new Map();
for (const line of readFileSync(bksFile, 'utf8').split(/\r?\n/)) {
  const t = line.trim();
  if (!t || t.startsWith('#') || /^instance\b/i.test(t)) continue;
  const [name, vehicles, distance] = t.split(/[,\s]+/);
  bks.set(name.toUpperCase(), { vehicles: Number(vehicles), distance: Number(distance) });
}
const root = resolve(fileURLToPath(new URL('..', import.meta.url)));
const files = readdirSync(dir)
  .filter((f) => /\.(txt|vrp|pdptw)$/i.test(f))
  .map((f) => ({ file: join(dir, f), name: basename(f).replace(/\.[^.]*$/, '').toUpperCase() }))
  .filter((f) => !only || only.includes(f.name))
  .sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
const rows = [];
// figures depend on the machine's load (a busy machine runs fewer iterations in the same time): print it with them
const load = () => loadavg().map((x) => x.toFixed(2)).join(' ');
const loadBefore = load();
if (!asJson) {
  console.log(`${new Date().toISOString()}  node ${process.version}, ${cpus().length} cores, load average ${loadBefore} (1, 5, 15 min)`);
  console.log('instance veh  distance   BKS veh/distance     gap   time');
}
for (const { file, name } of files) {
  const best = bks.get(name);
  const cmd = ['bin/infra.js', 'bench', 'dispatch', '--instance', file, '--time-limit', timeLimit, '--seed', seed, '--json'];
  let out;
  try {
    out = JSON.parse(execFileSync(process.execPath, cmd, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));
  } catch (err) {
    rows.push({ name, error: String(err.stderr || err.message).trim().split('\n')[0] });
    continue;
  }
  const gap = best ? ((out.distance - best.distance) / best.distance) * 100 : undefined;
  rows.push({ name, vehicles: out.vehicles, distance: out.distance, bksVehicles: best?.vehicles, bks: best?.distance, gap, timeMs: out.timeMs });
  if (!asJson) {
    const r = rows.at(-1);
    console.log(`${r.name.padEnd(7)} ${String(r.vehicles).padStart(3)} ${r.distance.toFixed(2).padStart(9)}   ${best ? `${String(best.vehicles).padStart(3)} ${best.distance.toFixed(2).padStart(9)}` : '  -         -'}  ${gap === undefined ? '      -' : `${gap >= 0 ? '+' : ''}${gap.toFixed(2)}%`.padStart(7)}  ${(r.timeMs / 1000).toFixed(2)} s`);
  }
}
const gaps = rows.filter((r) => r.gap !== undefined).map((r) => r.gap);
const avg = gaps.length ? gaps.reduce((a, b) => a + b, 0) / gaps.length : undefined;
const fewer = rows.filter((r) => r.bksVehicles !== undefined && r.vehicles < r.bksVehicles).length;
const more = rows.filter((r) => r.bksVehicles !== undefined && r.vehicles > r.bksVehicles).length;
const loadAfter = load();
if (asJson) console.log(JSON.stringify({ timeLimitS: Number(timeLimit), seed: Number(seed), loadAverageBefore: loadBefore, loadAverageAfter: loadAfter, averageGapPercent: avg, rows }, null, 2));

else {
  for (const r of rows.filter((x) => x.error)) console.log(`${r.name.padEnd(7)} error: ${r.error}`);
  const same = rows.filter((r) => r.gap !== undefined && r.vehicles === r.bksVehicles).map((r) => r.gap);
  const avgSame = same.length ? same.reduce((a, b) => a + b, 0) / same.length : undefined;
  console.log(`average gap ${avg === undefined ? '-' : `${avg.toFixed(2)}%`} over ${gaps.length} instances (time limit ${timeLimit} s, seed ${seed}); vehicles vs BKS: ${more} more, ${fewer} fewer`);
  console.log(`average gap ${avgSame === undefined ? '-' : `${avgSame.toFixed(2)}%`} over the ${same.length} instances solved with the BKS's vehicle count`);
  console.log(`${new Date().toISOString()}  load average ${loadAfter} (1, 5, 15 min)`);
}
