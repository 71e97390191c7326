#!/usr/bin/env node
// Media pipeline figures, one run: an OBS-like 720p30 x264/AAC push (pre-rendered once from lavfi,
// then pushed with -c copy so the pusher costs nothing), through RTMP ingest, HTTP-FLV and our HLS ladder.
// Prints: push start -> first FLV keyframe, push start -> first HLS segment of each rendition, and the
// CPU of our pipeline (media's node process + its ladder ffmpeg) beside the same ladder command run raw
// by ffmpeg on the same input file.
// Usage: npm run bench:media [-- --seconds 10 --preset veryfast]
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseConfigText } from '@infra/core';
import { startMedia, locateFfmpeg, buildLadderJob } from '@infra/media';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const seconds = Number(opt('seconds', '10'));
const preset = opt('preset', 'veryfast');
const TICK = 100; // USER_HZ

const root = mkdtempSync(join(tmpdir(), 'infra-bench-media-'));
const ffmpeg = (await locateFfmpeg('')).path;
const source = join(root, 'source.flv');
const render = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
  '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60', '-b:v', '2500k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', source]);
if (render.status !== 0) throw new Error(render.stderr.toString());

function cpuTicks(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // utime + stime
  } catch {
    return undefined;
  }
}

function childFfmpegPids() {
  const out = [];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid && stat.includes('(ffmpeg)')) out.push(Number(p));
    } catch { /* gone */ }
  }
  return out;
}

function firstFlvKeyframe(url, deadline) {
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const req = get(url, (res) => {
        let buf = Buffer.alloc(0);
        res.on('data', (chunk) => {
          buf = Buffer.concat([buf, chunk]);
          let off = 13;
          while (off + 12 <= buf.length) {
            const type = buf[off];
            const size = buf.readUIntBE(off + 1, 3);
            const first = buf[off + 11];
            if (type === 9 && first >> 4 === 1 && buf[off + 12] === 1) {
              req.destroy();
              return resolve(performance.now());
            }
            if (off + 11 + size + 4 > buf.length) break;
            off += 11 + size + 4;
          }
        });
        res.on('end', () => (Date.now() < deadline ? setTimeout(attempt, 5) : reject(new Error('no FLV keyframe'))));
      });
      req.on('error', () => (Date.now() < deadline ? setTimeout(attempt, 5) : reject(new Error('no FLV'))));
    };
    attempt();
  });
}

// --- our pipeline -------------------------------------------------------------------------------
const yaml = `version: 1\nmedia:\n  rtmp: { port: 0 }\n  http: { port: 0 }\n  record: true\n  hls:\n    preset: ${preset}\n`;
const config = parseConfigText(yaml, 'infra.yaml', {}, []);
const dataDir = join(root, 'data');
const media = await startMedia({ config, secrets: { jwtSecret: 'j'.repeat(43), streamKeySalt: 's'.repeat(43) }, logger: createLogger(), dataDir });
const rtmpPort = media.endpoints.find((e) => e.name === 'rtmp').port;
const flvPort = media.endpoints.find((e) => e.name === 'flv').port;
const s = await media.streams.create('bench', undefined, { http: 'http://127.0.0.1', host: '127.0.0.1', rtmpPort, flvPort });
const renditions = config.media.hls.renditions;

const cpu0 = process.cpuUsage();
const t0 = performance.now();
const pusher = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-re', '-i', source, '-c', 'copy', '-f', 'flv', `${s.rtmpUrl}/${s.key}`], { stdio: 'ignore' });
const flvAt = firstFlvKeyframe(s.flvUrl, Date.now() + 15_000);
const hlsAt = renditions.map(() => undefined);
const ffmpegTicks = new Map();
const liveDir = join(dataDir, 'media', 'live', s.id);
// cheap polls (the bench shares media's node process): playlists every 20 ms until found, /proc every 250 ms
const poll = setInterval(() => {
  const now = performance.now();
  renditions.forEach((_, i) => {
    if (hlsAt[i] !== undefined) return;
    const pl = join(liveDir, String(i), 'index.m3u8');
    if (existsSync(pl) && readFileSync(pl, 'utf8').includes('.ts')) hlsAt[i] = now;
  });
  if (hlsAt.every((t) => t !== undefined)) clearInterval(poll);
}, 20);
const cpuPoll = setInterval(() => {
  for (const pid of childFfmpegPids()) {
    const t = cpuTicks(pid);
    if (t !== undefined) ffmpegTicks.set(pid, t);
  }
}, 250);
const flv = await flvAt;
await new Promise((r) => pusher.once('exit', r));
let assets = [];
for (let i = 0; i < 100 && assets.length === 0; i++) {
  await new Promise((r) => setTimeout(r, 100)); // session end, ladder stop, VOD remux
  assets = await media.recordings.list({ streamId: s.id });
}
clearInterval(poll);
clearInterval(cpuPoll);
const wall = (performance.now() - t0) / 1000;
const nodeCpu = (() => { const d = process.cpuUsage(cpu0); return (d.user + d.system) / 1e6; })();
// the ladder ffmpeg is the long-lived child; the remux is short — count both: both are our pipeline's work
const pipelineFfmpegCpu = [...ffmpegTicks.values()].reduce((a, b) => a + b, 0) / TICK;
await media.close();

// --- the same ladder, raw ffmpeg on the same input ----------------------------------------------
const rawDir = join(root, 'raw');
const job = buildLadderJob({ input: source, liveDir: rawDir, renditions, segmentSeconds: config.media.hls.segmentSeconds, listSize: config.media.hls.listSize, preset, fps: 30, hasAudio: true, coverSeconds: config.media.coverSeconds, recordFile: join(rawDir, 'rec.ts') });
renditions.forEach((_, i) => spawnSync('mkdir', ['-p', join(rawDir, String(i))]));
const rawArgs = ['-re', ...job.inputOptions, '-i', source, '-filter_complex', job.complexFilter, ...job.outputs.flatMap((o) => [...o.options, o.file])];
const r0 = performance.now();
const raw = spawn(ffmpeg, rawArgs, { stdio: 'ignore' });
let rawTicks = 0;
const rawPoll = setInterval(() => { const t = cpuTicks(raw.pid); if (t !== undefined) rawTicks = t; }, 20);
await new Promise((r) => raw.once('exit', r));
clearInterval(rawPoll);
const rawWall = (performance.now() - r0) / 1000;
rmSync(root, { recursive: true, force: true });

const ms = (t) => (t === undefined ? 'n/a' : `${Math.round(t - t0)} ms`);
const pipelineCpu = nodeCpu + pipelineFfmpegCpu;
const rawCpu = rawTicks / TICK;
console.log(`\nbench:media — ${seconds} s of 1280x720 30 fps x264 + AAC pushed over RTMP; ladder ${renditions.map((r) => r.name).join('/')} preset ${preset}, ${config.media.hls.segmentSeconds} s segments; ffmpeg ${ffmpeg}\n`);
console.log('| latency (from push start) | value | goal |');
console.log('| --- | --- | --- |');
console.log(`| first HTTP-FLV keyframe | ${ms(flv)} | <= 300 ms |`);
renditions.forEach((r, i) => console.log(`| first HLS segment, ${r.name} | ${ms(hlsAt[i])} | <= 1500 ms |`));
console.log('\n| CPU seconds | ours | raw ffmpeg, same ladder | overhead |');
console.log('| --- | --- | --- | --- |');
console.log(`| node (RTMP ingest, FLV relay to 1 viewer + our pull, control; includes this bench's polling) | ${nodeCpu.toFixed(2)} | - | |`);
console.log(`| ffmpeg (ladder + cover + recording, and the VOD remux) | ${pipelineFfmpegCpu.toFixed(2)} | ${rawCpu.toFixed(2)} | |`);
console.log(`| total | ${pipelineCpu.toFixed(2)} | ${rawCpu.toFixed(2)} | ${(((pipelineCpu - rawCpu) / rawCpu) * 100).toFixed(1)} % |`);
console.log(`\nwall: ours ${wall.toFixed(1)} s (until the VOD asset exists), raw ${rawWall.toFixed(1)} s; VOD asset: ${assets[0] ? `${assets[0].durationMs} ms, ${assets[0].sizeBytes} bytes` : 'none'}`);
