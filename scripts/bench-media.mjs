#!/usr/bin/env node
// Media pipeline figures, one run: an OBS-like 720p30 x264/AAC push (pre-rendered once from lavfi,
// then pushed with -c copy so the pusher costs nothing), through RTMP ingest, HTTP-FLV and our HLS ladder.
// Prints, each beside its goal: push start -> first FLV keyframe, push start -> first HLS segment of each
// rendition (with the timeline in between: publish accepted, ladder ffmpeg spawned, its input attached),
// and the CPU of our pipeline (media's node process + its ladder ffmpeg) beside the same ladder command run
// raw by ffmpeg on the same input file. CPU of children is exact (/proc/self/stat cutime+cstime of reaped
// children); the pusher's own CPU is left out of ours. Load averages are printed: figures are only
// comparable on a quiet machine.
// Usage: npm run bench:media [-- --seconds 10 --preset veryfast --profile DIR]
//   --profile DIR writes a V8 CPU profile of this (media's) process from push start to the VOD asset
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { loadavg, tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { Session } from 'node:inspector/promises';
import { writeFileSync } from 'node:fs';
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

/** CPU seconds of every child this process has reaped (they include the children's own reaped children). */
function reapedChildrenCpu() {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[13]) + Number(f[14])) / TICK; // cutime + cstime
}
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const loadAtStart = load();

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
// the pipeline's own log lines give the timeline (first time each message is seen)
const seen = new Map();
const logSink = new Writable({ write(chunk, _enc, cb) {
  const now = performance.now();
  for (const line of chunk.toString().split('\n')) {
    const m = /"msg":"([^"]*)"/.exec(line);
    if (m && !seen.has(m[1])) seen.set(m[1], now);
  }
  cb();
} });
const media = await startMedia({ config, secrets: { jwtSecret: 'j'.repeat(43), streamKeySalt: 's'.repeat(43) }, logger: createLogger({ level: 'debug', extra: logSink }), dataDir });
const rtmpPort = media.endpoints.find((e) => e.name === 'rtmp').port;
const flvPort = media.endpoints.find((e) => e.name === 'flv').port;
const s = await media.streams.create('bench', undefined, { http: 'http://127.0.0.1', host: '127.0.0.1', rtmpPort, flvPort });
const renditions = config.media.hls.renditions;

const profileDir = opt('profile', '');
const inspector = profileDir ? new Session() : undefined;
if (inspector) {
  inspector.connect();
  await inspector.post('Profiler.enable');
  await inspector.post('Profiler.start');
}
const cpu0 = process.cpuUsage();
const children0 = reapedChildrenCpu();
const t0 = performance.now();
const pusher = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-re', '-i', source, '-c', 'copy', '-f', 'flv', `${s.rtmpUrl}/${s.key}`], { stdio: 'ignore' });
const flvAt = firstFlvKeyframe(s.flvUrl, Date.now() + 15_000);
const hlsAt = renditions.map(() => undefined);
let pusherTicks = 0;
// steady state: from the first segments to the end of the push (start-up and wind-down costs left out)
let steady0;
let steady1;
let ladderTicks = 0;
const liveDir = join(dataDir, 'media', 'live', s.id);
// cheap polls (the bench shares media's node process): playlists every 20 ms until found, /proc every 250 ms
const poll = setInterval(() => {
  const now = performance.now();
  renditions.forEach((_, i) => {
    if (hlsAt[i] !== undefined) return;
    const pl = join(liveDir, String(i), 'index.m3u8');
    if (existsSync(pl) && readFileSync(pl, 'utf8').includes('.ts')) hlsAt[i] = now;
  });
  if (hlsAt.every((t) => t !== undefined)) {
    clearInterval(poll);
    steady0 = { t: now, node: process.cpuUsage(), ladder: ladderTicks };
  }
}, 20);
let ladderPid;
const cpuPoll = setInterval(() => {
  pusherTicks = cpuTicks(pusher.pid) ?? pusherTicks;
  ladderPid ??= media.transcodes()[0]?.pid; // kept after the session ends: the ladder then flushes its last segment
  if (ladderPid !== undefined) ladderTicks = cpuTicks(ladderPid) ?? ladderTicks;
}, 50);
const flv = await flvAt;
await new Promise((r) => pusher.once('exit', r));
const pushEnd = performance.now();
steady1 = { t: pushEnd, node: process.cpuUsage(), ladder: ladderTicks };
let assets = [];
for (let i = 0; i < 100 && assets.length === 0; i++) {
  await new Promise((r) => setTimeout(r, 100)); // session end, ladder stop, VOD remux
  assets = await media.recordings.list({ streamId: s.id });
}
clearInterval(poll);
clearInterval(cpuPoll);
const wall = (performance.now() - t0) / 1000;
const nodeUsage = process.cpuUsage(cpu0);
const nodeCpu = (nodeUsage.user + nodeUsage.system) / 1e6;
if (inspector) {
  const { profile } = await inspector.post('Profiler.stop');
  writeFileSync(join(profileDir, `bench-media-${Date.now()}.cpuprofile`), JSON.stringify(profile));
}
await media.close();
// every ffmpeg of ours has been reaped by now: all child CPU since the push, less the pusher's (last sample, 100 ms)
const pipelineFfmpegCpu = reapedChildrenCpu() - children0 - pusherTicks / TICK;
const ladderCpu = Math.min(ladderTicks / TICK, pipelineFfmpegCpu);

// --- the same ladder, raw ffmpeg on the same input ----------------------------------------------
const rawDir = join(root, 'raw');
const job = buildLadderJob({ input: source, fpsDeclared: true, liveDir: rawDir, renditions, segmentSeconds: config.media.hls.segmentSeconds, firstSegmentSeconds: config.media.hls.firstSegmentSeconds, listSize: config.media.hls.listSize, preset, fps: 30, hasAudio: true, coverSeconds: config.media.coverSeconds, recordFile: join(rawDir, 'rec.ts') });
renditions.forEach((_, i) => spawnSync('mkdir', ['-p', join(rawDir, String(i))]));
const rawArgs = ['-re', ...job.inputOptions, '-i', source, '-filter_complex', job.complexFilter, ...job.outputs.flatMap((o) => [...o.options, o.file])];
const r0 = performance.now();
const rawChildren0 = reapedChildrenCpu();
const raw = spawn(ffmpeg, rawArgs, { stdio: 'ignore' });
await new Promise((r) => raw.once('exit', r));
const rawCpu = reapedChildrenCpu() - rawChildren0;
const rawWall = (performance.now() - r0) / 1000;
rmSync(root, { recursive: true, force: true });

const ms = (t) => (t === undefined ? 'n/a' : `${Math.round(t - t0)} ms`);
const at = (msg) => ms(seen.get(msg));
const pipelineCpu = nodeCpu + pipelineFfmpegCpu;
const liveCpu = nodeCpu + ladderCpu;
const pct = (a, b) => `${(((a - b) / b) * 100).toFixed(1)} %`;
const { segmentSeconds, firstSegmentSeconds } = config.media.hls;
console.log(`\nbench:media — ${seconds} s of 1280x720 30 fps x264 + AAC pushed over RTMP; ladder ${renditions.map((r) => r.name).join('/')} preset ${preset}, ${segmentSeconds} s segments (first ones ${firstSegmentSeconds} s); ffmpeg ${(await locateFfmpeg('')).version} ${ffmpeg}`);
console.log(`load average (1/5/15 min): ${loadAtStart} at start, ${load()} at end — figures are comparable only on a quiet machine\n`);
console.log('| latency (from push start) | value | goal |');
console.log('| --- | --- | --- |');
console.log(`| publish requested (the pusher's ffmpeg started, RTMP handshake and connect) | ${at('publish requested')} | |`);
console.log(`| publish accepted (stream key checked) | ${at('publish accepted')} | |`);
console.log(`| ladder ffmpeg spawned | ${at('ffmpeg started')} | |`);
console.log(`| ladder input attached (FLV fed on stdin from the ingest's buffers) | ${at('ladder input attached')} | |`);
console.log(`| first HTTP-FLV keyframe | ${ms(flv)} | <= 300 ms |`);
renditions.forEach((r, i) => console.log(`| first HLS segment, ${r.name} | ${ms(hlsAt[i])} | <= 1500 ms |`));
console.log('\n| CPU seconds | ours | raw ffmpeg, same ladder | overhead | goal |');
console.log('| --- | --- | --- | --- | --- |');
console.log(`| node (RTMP ingest, FLV relay to 1 viewer and to the ladder's stdin, control; includes this bench's polling): user ${(nodeUsage.user / 1e6).toFixed(2)} + system ${(nodeUsage.system / 1e6).toFixed(2)} | ${nodeCpu.toFixed(2)} | - | | |`);
console.log(`| ladder ffmpeg (HLS ladder + cover + recording) | ${ladderCpu.toFixed(2)} | ${rawCpu.toFixed(2)} | | |`);
console.log(`| live pipeline (node + ladder ffmpeg) | ${liveCpu.toFixed(2)} | ${rawCpu.toFixed(2)} | ${pct(liveCpu, rawCpu)} | <= 5 % |`);
console.log(`| after the stream: VOD remux + poster (raw has no equivalent) | ${(pipelineFfmpegCpu - ladderCpu).toFixed(2)} | - | | |`);
console.log(`| total | ${pipelineCpu.toFixed(2)} | ${rawCpu.toFixed(2)} | ${pct(pipelineCpu, rawCpu)} | |`);
if (steady0 && steady1) {
  const secs = (steady1.t - steady0.t) / 1000;
  const nodeRate = ((steady1.node.user + steady1.node.system - steady0.node.user - steady0.node.system) / 1e6) / secs;
  const ladderRate = (steady1.ladder - steady0.ladder) / TICK / secs;
  const rawRate = rawCpu / rawWall;
  console.log(`| steady state (first segments to push end, ${secs.toFixed(1)} s), CPU s per s: node ${nodeRate.toFixed(3)} + ladder ${ladderRate.toFixed(3)} | ${(nodeRate + ladderRate).toFixed(3)} | ${rawRate.toFixed(3)} (whole raw run) | ${pct(nodeRate + ladderRate, rawRate)} | <= 5 % |`);
}
console.log(`\nwall: push ${((pushEnd - t0) / 1000).toFixed(1)} s, ours ${wall.toFixed(1)} s (until the VOD asset exists), raw ${rawWall.toFixed(1)} s; VOD asset: ${assets[0] ? `${assets[0].durationMs} ms, ${assets[0].sizeBytes} bytes` : 'none'}; pusher CPU left out: ${(pusherTicks / TICK).toFixed(2)} s`);
