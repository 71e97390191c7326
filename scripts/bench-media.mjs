#!/usr/bin/env node
// Media pipeline figures, one run: an OBS-like 720p30 x264/AAC push (pre-rendered once from lavfi, then pushed with
// -c copy so the pusher costs little), through RTMP ingest, HTTP-FLV and our HLS ladder.
// Prints, each beside its goal: push start -> first FLV keyframe, push start -> first HLS segment of each rendition
// (with the timeline in between), and CPU: our pipeline against the same ladder command run raw by ffmpeg, twice:
//   - raw RTMP (the reference the issue names for a live push): ffmpeg itself receives the same push
//     (`ffmpeg -listen 1 -i rtmp://127.0.0.1:PORT/live/x` + the same ladder outputs), pushed by the same pusher;
//   - raw file (the older figure, kept): the same ladder reading the pre-rendered file with -re: no ingest at all.
// Our side runs in its own node process (this script with --child), so the bench's own polling is not in it:
// ours = that process (every thread) + every ffmpeg it spawns (reaped children, /proc/PID/stat). The pusher's CPU is
// in neither side. Load averages are printed: figures are only comparable on a quiet machine.
// Usage: npm run bench:media [-- --seconds 15 --preset veryfast --read-batch-ms N --runs N --profile DIR]
//   --runs N repeats the whole run N times (one after another) and pools the CPU figures at the end
//   --read-batch-ms N sets media.rtmp.readBatchMs (0 = read the push as it arrives, the behaviour before batching)
//   --profile DIR writes a V8 CPU profile of media's node process from push start to the VOD asset
import { fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, parseConfigText } from '@infra/core';
import { startMedia, locateFfmpeg, buildLadderJob } from '@infra/media';

const args = process.argv.slice(2);
const opt = (name, def) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : def);
const seconds = Number(opt('seconds', '15'));
const preset = opt('preset', 'veryfast');
const TICK = 100; // USER_HZ
const readBatchMs = opt('read-batch-ms', '');
const configYaml = `version: 1\nmedia:\n  rtmp: { port: 0${readBatchMs ? `, readBatchMs: ${readBatchMs}` : ''} }\n  http: { port: 0 }\n  record: true\n  hls:\n    preset: ${preset}\n`;
const secrets = { jwtSecret: 'j'.repeat(43), streamKeySalt: 's'.repeat(43) };
const epochNow = () => performance.timeOrigin + performance.now();

if (args.includes('--child')) {
  // --- media's own process: startMedia, one stream; answers the bench over IPC ---------------------------------
  const dataDir = opt('data', '');
  const config = parseConfigText(configYaml, 'infra.yaml', {}, []);
  const seen = new Set();
  const logSink = new Writable({ write(chunk, _enc, cb) {
    const at = epochNow();
    for (const line of chunk.toString().split('\n')) {
      const m = /"msg":"([^"]*)"/.exec(line);
      if (m && !seen.has(m[1])) {
        seen.add(m[1]);
        process.send({ log: m[1], at });
      }
    }
    cb();
  } });
  const media = await startMedia({ config, secrets, logger: createLogger({ level: 'debug', extra: logSink }), dataDir });
  const rtmpPort = media.endpoints.find((e) => e.name === 'rtmp').port;
  const flvPort = media.endpoints.find((e) => e.name === 'flv').port;
  const s = await media.streams.create('bench', undefined, { http: 'http://127.0.0.1', host: '127.0.0.1', rtmpPort, flvPort });
  let inspector;
  process.once('disconnect', () => process.exit(1)); // the bench died: no media (or ffmpeg) left behind
  process.on('message', async (m) => {
    if (m.cmd === 'profile-start') {
      const { Session } = await import('node:inspector/promises');
      inspector = new Session();
      inspector.connect();
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.start');
      process.send({ reply: 'profile-start' });
    } else if (m.cmd === 'profile-stop') {
      if (inspector) writeFileSync(m.file, JSON.stringify((await inspector.post('Profiler.stop')).profile));
      process.send({ reply: 'profile-stop' });
    } else if (m.cmd === 'transcodes') {
      process.send({ reply: 'transcodes', value: media.transcodes() });
    } else if (m.cmd === 'assets') {
      process.send({ reply: 'assets', value: await media.recordings.list({ streamId: s.id }) });
    } else if (m.cmd === 'close') {
      await media.close();
      process.exit(0);
    }
  });
  process.send({ ready: { rtmpUrl: s.rtmpUrl, key: s.key, flvUrl: s.flvUrl, id: s.id, ffmpeg: media.ffmpeg } });
} else if (Number(opt('runs', '1')) > 1) {
  await repeat(Number(opt('runs', '1')));
} else {
  await bench();
}

/**
 * --runs N: N whole runs one after another (each its own process, output passed through), then the CPU figures pooled:
 * one run's x264 CPU moves by several percent on a busy machine, more than the overhead being measured.
 */
async function repeat(runs) {
  const rest = args.filter((a, i) => a !== '--runs' && args[i - 1] !== '--runs');
  const results = [];
  for (let i = 0; i < runs; i++) {
    console.log(`\n## run ${i + 1} of ${runs}`);
    const run = spawn(process.execPath, [fileURLToPath(import.meta.url), ...rest], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    run.stdout.on('data', (d) => {
      out += d;
      process.stdout.write(d);
    });
    await new Promise((r) => run.once('exit', r));
    const line = out.split('\n').find((l) => l.startsWith('cpu-summary '));
    if (line) results.push(JSON.parse(line.slice('cpu-summary '.length)));
  }
  const sum = (k) => results.reduce((a, r) => a + r[k], 0);
  const pct = (a, b) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)} %`;
  const ours = sum('node') + sum('ladder');
  console.log(`\n## pooled over ${results.length} runs (CPU seconds, push start -> ladder exit; same definitions as above)\n`);
  console.log('| figure | ours | raw ffmpeg -listen rtmp | overhead | raw file (older reference) | overhead |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  console.log(`| media's node process | ${sum('node').toFixed(2)} | | | | |`);
  console.log(`| ladder ffmpeg | ${sum('ladder').toFixed(2)} | ${sum('rawRtmp').toFixed(2)} | ${pct(sum('ladder'), sum('rawRtmp'))} | ${sum('rawFile').toFixed(2)} | ${pct(sum('ladder'), sum('rawFile'))} |`);
  console.log(`| live pipeline (node + ladder) | ${ours.toFixed(2)} | ${sum('rawRtmp').toFixed(2)} | ${pct(ours, sum('rawRtmp'))} | ${sum('rawFile').toFixed(2)} | ${pct(ours, sum('rawFile'))} |`);
  console.log(`| per run, live pipeline vs raw -listen | ${results.map((r) => pct(r.node + r.ladder, r.rawRtmp)).join(', ')} | | | | |`);
}

/** utime, stime, cutime, cstime of a process, in seconds (undefined once it is gone) */
function procCpu(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { self: (Number(f[11]) + Number(f[12])) / TICK, children: (Number(f[13]) + Number(f[14])) / TICK };
  } catch {
    return undefined;
  }
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

/** resolves when some socket listens on 127.0.0.1:port (read from /proc/net/tcp: connecting would use up a -listen 1) */
async function listening(port, deadline) {
  const hex = `:${port.toString(16).toUpperCase().padStart(4, '0')}`;
  while (Date.now() < deadline) {
    const lines = readFileSync('/proc/net/tcp', 'utf8').split('\n');
    if (lines.some((l) => { const f = l.trim().split(/\s+/); return f[1]?.endsWith(hex) && f[3] === '0A'; })) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`nothing listens on ${port}`);
}

function freePort() {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** polls the first segment of each rendition under dir, and calls onAll once they all exist */
function watchSegments(dir, count, onAll) {
  const at = Array.from({ length: count }, () => undefined);
  const poll = setInterval(() => {
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      if (at[i] !== undefined) continue;
      const pl = join(dir, String(i), 'index.m3u8');
      if (existsSync(pl) && readFileSync(pl, 'utf8').includes('.ts')) at[i] = now;
    }
    if (at.every((t) => t !== undefined)) {
      clearInterval(poll);
      onAll(now);
    }
  }, 20);
  return { at, stop: () => clearInterval(poll) };
}

/** CPU seconds of every child this process has reaped */
function reapedChildrenCpu() {
  return procCpu(process.pid).children;
}

async function bench() {
  const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
  const loadAtStart = load();
  const root = mkdtempSync(join(tmpdir(), 'infra-bench-media-'));
  const ffmpegBin = await locateFfmpeg('');
  const ffmpeg = ffmpegBin.path;
  const source = join(root, 'source.flv');
  const render = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc2=size=1280x720:rate=30', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=48000',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'veryfast', '-tune', 'zerolatency', '-g', '60', '-b:v', '2500k', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '128k', '-f', 'flv', source]);
  if (render.status !== 0) throw new Error(render.stderr.toString());
  const config = parseConfigText(configYaml, 'infra.yaml', {}, []);
  const renditions = config.media.hls.renditions;
  const push = (url) => spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-re', '-i', source, '-c', 'copy', '-f', 'flv', url], { stdio: 'ignore' });
  const exited = (p) => new Promise((r) => (p.exitCode !== null || p.signalCode !== null ? r() : p.once('exit', r)));

  // --- our pipeline, in its own node process -------------------------------------------------------------------
  const dataDir = join(root, 'data');
  const child = fork(fileURLToPath(import.meta.url), ['--child', '--data', dataDir, '--preset', preset, ...(readBatchMs ? ['--read-batch-ms', readBatchMs] : [])], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  const seenAt = new Map();
  const replies = new Map();
  const ready = new Promise((resolve) => child.on('message', (m) => {
    if (m.log) seenAt.set(m.log, m.at - performance.timeOrigin);
    else if (m.reply) replies.get(m.reply)?.(m.value);
    else if (m.ready) resolve(m.ready);
  }));
  const ask = (cmd, extra = {}) => new Promise((resolve) => {
    replies.set(cmd, resolve);
    child.send({ cmd, ...extra });
  });
  const s = await ready;
  const profileDir = opt('profile', '');
  if (profileDir) await ask('profile-start');
  const ours0 = procCpu(child.pid); // includes the start-up's ffmpeg -formats/-encoders, reaped already
  const t0 = performance.now();
  const pusher = push(`${s.rtmpUrl}/${s.key}`);
  const flvAt = firstFlvKeyframe(s.flvUrl, Date.now() + 15_000);
  let steady0;
  let ladderPid;
  let ladderLast = 0; // CPU seconds of the ladder ffmpeg, last sample
  let pusherLast = 0;
  const liveDir = join(dataDir, 'media', 'live', s.id);
  const ourSegs = watchSegments(liveDir, renditions.length, (now) => {
    steady0 = { t: now, node: procCpu(child.pid)?.self ?? 0, ladder: ladderLast };
  });
  const cpuPoll = setInterval(async () => {
    pusherLast = procCpu(pusher.pid)?.self ?? pusherLast;
    if (ladderPid === undefined) ladderPid = (await ask('transcodes'))[0]?.pid;
    else ladderLast = procCpu(ladderPid)?.self ?? ladderLast;
  }, 50);
  const flv = await flvAt;
  await exited(pusher);
  const pushEnd = performance.now();
  const steady1 = { t: pushEnd, node: procCpu(child.pid)?.self ?? 0, ladder: ladderLast };
  // window end: the ladder ffmpeg has written its last segment and exited (reaped by media's process)
  let oursAtLadderExit;
  for (let i = 0; i < 400 && !oursAtLadderExit; i++) {
    const ladderGone = ladderPid !== undefined && procCpu(ladderPid) === undefined;
    const now = procCpu(child.pid);
    if (ladderGone && now.children > ours0.children) oursAtLadderExit = { ...now, t: performance.now() };
    else await new Promise((r) => setTimeout(r, 10));
  }
  oursAtLadderExit ??= { ...procCpu(child.pid), t: performance.now() };
  clearInterval(cpuPoll);
  let assets = [];
  for (let i = 0; i < 100 && assets.length === 0; i++) {
    await new Promise((r) => setTimeout(r, 100)); // VOD remux and poster
    assets = await ask('assets');
  }
  const oursAtVod = procCpu(child.pid);
  const vodAt = performance.now();
  ourSegs.stop();
  if (profileDir) await ask('profile-stop', { file: join(profileDir, `bench-media-${Date.now()}.cpuprofile`) });
  child.send({ cmd: 'close' });
  await exited(child);

  const nodeWindow = oursAtLadderExit.self - ours0.self;
  const ladderCpu = oursAtLadderExit.children - ours0.children;
  const nodeAfter = oursAtVod.self - oursAtLadderExit.self;
  const vodChildren = oursAtVod.children - oursAtLadderExit.children;
  const oursWall = (oursAtLadderExit.t - t0) / 1000;

  const job = (input, dir, inputFormat) => buildLadderJob({ input, ...(inputFormat ? { inputFormat } : {}), fpsDeclared: true, liveDir: dir, renditions, segmentSeconds: config.media.hls.segmentSeconds, firstSegmentSeconds: config.media.hls.firstSegmentSeconds, listSize: config.media.hls.listSize, preset, fps: 30, hasAudio: true, coverSeconds: config.media.coverSeconds, recordFile: join(dir, 'rec.ts') });
  const ladderArgs = (j, inputArgs) => [...j.inputOptions, ...inputArgs, '-filter_complex', j.complexFilter, ...j.outputs.flatMap((o) => [...o.options, o.file])];

  // --- raw RTMP: ffmpeg receives the same push itself and runs the same ladder ---------------------------------
  const rtmpDir = join(root, 'raw-rtmp');
  renditions.forEach((_, i) => mkdirSync(join(rtmpDir, String(i)), { recursive: true }));
  const port = await freePort();
  const rtmpChildren0 = reapedChildrenCpu();
  const listener = spawn(ffmpeg, ladderArgs(job('', rtmpDir), ['-listen', '1', '-i', `rtmp://127.0.0.1:${port}/live/x`]), { stdio: 'ignore' });
  await listening(port, Date.now() + 10_000);
  const listenerIdle = procCpu(listener.pid)?.self ?? 0; // its start-up before the push (not in the comparison)
  const tr0 = performance.now();
  const pusher2 = push(`rtmp://127.0.0.1:${port}/live/x`);
  let rawSteady0;
  let listenerLast = 0;
  const rawSegs = watchSegments(rtmpDir, renditions.length, (now) => {
    rawSteady0 = { t: now, cpu: listenerLast };
  });
  const rawPoll = setInterval(() => (listenerLast = procCpu(listener.pid)?.self ?? listenerLast), 50);
  await exited(pusher2);
  const rawPushEnd = performance.now();
  const rawSteady1 = { t: rawPushEnd, cpu: listenerLast };
  const pusher2Cpu = (procCpu(process.pid).children - rtmpChildren0); // the pusher is reaped first
  await Promise.race([exited(listener), new Promise((r) => setTimeout(r, 15_000))]);
  listener.kill('SIGKILL');
  await exited(listener);
  clearInterval(rawPoll);
  rawSegs.stop();
  const rawRtmpCpu = reapedChildrenCpu() - rtmpChildren0 - pusher2Cpu;
  const rawRtmpWall = (performance.now() - tr0) / 1000;

  // --- raw file: the same ladder reading the pre-rendered file (no ingest; the older reference) ----------------
  const fileDir = join(root, 'raw-file');
  renditions.forEach((_, i) => mkdirSync(join(fileDir, String(i)), { recursive: true }));
  const fileJob = job(source, fileDir);
  const rf0 = performance.now();
  const fileChildren0 = reapedChildrenCpu();
  const raw = spawn(ffmpeg, ladderArgs(fileJob, ['-re', '-i', source]), { stdio: 'ignore' });
  await exited(raw);
  const rawFileCpu = reapedChildrenCpu() - fileChildren0;
  const rawFileWall = (performance.now() - rf0) / 1000;
  rmSync(root, { recursive: true, force: true });

  // --- report ------------------------------------------------------------------------------------------------------
  const ms = (t) => (t === undefined ? 'n/a' : `${Math.round(t - t0)} ms`);
  const at = (msg) => ms(seenAt.get(msg));
  const pct = (a, b) => `${a >= b ? '+' : ''}${(((a - b) / b) * 100).toFixed(1)} %`;
  const f2 = (x) => x.toFixed(2);
  const { segmentSeconds, firstSegmentSeconds } = config.media.hls;
  const ours = nodeWindow + ladderCpu;
  console.log(`\nbench:media — ${seconds} s of 1280x720 30 fps x264 + AAC pushed over RTMP (-c copy from a pre-rendered file); ladder ${renditions.map((r) => r.name).join('/')} preset ${preset}, media.rtmp.readBatchMs ${config.media.rtmp.readBatchMs}, ${segmentSeconds} s segments (first ones ${firstSegmentSeconds} s); ffmpeg ${ffmpegBin.version} ${ffmpeg}`);
  console.log(`load average (1/5/15 min): ${loadAtStart} at start, ${load()} at end — figures are comparable only on a quiet machine\n`);
  console.log('| latency (from push start) | value | goal |');
  console.log('| --- | --- | --- |');
  console.log(`| publish requested (the pusher's ffmpeg started, RTMP handshake and connect) | ${at('publish requested')} | |`);
  console.log(`| publish accepted (stream key checked) | ${at('publish accepted')} | |`);
  console.log(`| ladder ffmpeg spawned | ${at('ffmpeg started')} | |`);
  console.log(`| ladder input attached (FLV fed on stdin from the ingest's buffers) | ${at('ladder input attached')} | |`);
  console.log(`| first HTTP-FLV keyframe | ${ms(flv)} | <= 300 ms |`);
  renditions.forEach((r, i) => console.log(`| first HLS segment, ${r.name} | ${ms(ourSegs.at[i])} | <= 1500 ms |`));

  console.log('\nCPU seconds. The pusher (same command, same file, both runs) is in neither side. "ours" = media\'s node process (all threads: RTMP ingest, FLV');
  console.log('relay into the ladder\'s stdin, stream-key check, state events, viewer counts, SQLite) + the ffmpeg children it spawns; the bench runs in');
  console.log('another process. The ladder ffmpeg writes HLS ladder + cover.jpg + the recording (MPEG-TS copy), and so does each raw command (same');
  console.log(`buildLadderJob outputs). Review frames (every ${config.media.review.sampleSeconds} s) ${config.media.review.sampleSeconds >= seconds ? 'do not fire within this push' : 'are copied by the node process (in its figure)'}; the bench's HTTP-FLV client`);
  console.log('reads until the first keyframe, then leaves.\n');
  console.log('| CPU seconds, push start -> ladder ffmpeg exit (last segment written) | ours | raw ffmpeg -listen rtmp, same ladder | overhead | goal |');
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| media's node process (all threads) | ${f2(nodeWindow)} | - (ffmpeg's own RTMP ingest is inside its figure) | | |`);
  console.log(`| ladder ffmpeg (HLS ladder + cover + recording) | ${f2(ladderCpu)} | ${f2(rawRtmpCpu)} (RTMP ingest + same ladder) | | |`);
  console.log(`| live pipeline: node + ladder ffmpeg vs raw ffmpeg receiving the push | ${f2(ours)} | ${f2(rawRtmpCpu)} | ${pct(ours, rawRtmpCpu)} | <= 5 % |`);
  if (steady0 && rawSteady0) {
    const secs = (steady1.t - steady0.t) / 1000;
    const nodeRate = (steady1.node - steady0.node) / secs;
    const ladderRate = (steady1.ladder - steady0.ladder) / secs;
    const rawSecs = (rawSteady1.t - rawSteady0.t) / 1000;
    const rawRate = (rawSteady1.cpu - rawSteady0.cpu) / rawSecs;
    console.log(`| steady state (first segments of every rendition -> push end; ours ${secs.toFixed(1)} s, raw ${rawSecs.toFixed(1)} s), CPU s per s: node ${nodeRate.toFixed(3)} + ladder ${ladderRate.toFixed(3)} | ${(nodeRate + ladderRate).toFixed(3)} | ${rawRate.toFixed(3)} | ${pct(nodeRate + ladderRate, rawRate)} | <= 5 % |`);
  }
  console.log(`| older reference: raw ffmpeg reading the file with -re (no ingest at all), same ladder | ${f2(ours)} | ${f2(rawFileCpu)} | ${pct(ours, rawFileCpu)} | |`);
  console.log(`| ladder ffmpeg alone vs the file reference (decode + encode + mux, same outputs) | ${f2(ladderCpu)} | ${f2(rawFileCpu)} | ${pct(ladderCpu, rawFileCpu)} | |`);
  console.log('\n| extra work of ours after the stream (no raw equivalent) | CPU s |');
  console.log('| --- | --- |');
  console.log(`| ffmpeg children after the ladder exit: VOD remux to MP4 + poster | ${f2(vodChildren)} |`);
  console.log(`| media's node process after the ladder exit (session end, SQLite, asset) | ${f2(nodeAfter)} |`);
  console.log(`\nwall: ours push ${((pushEnd - t0) / 1000).toFixed(1)} s, to ladder exit ${oursWall.toFixed(1)} s, to VOD asset ${((vodAt - t0) / 1000).toFixed(1)} s (asset: ${assets[0] ? `${assets[0].durationMs} ms, ${assets[0].sizeBytes} bytes` : 'none'}); raw rtmp push ${((rawPushEnd - tr0) / 1000).toFixed(1)} s, to exit ${rawRtmpWall.toFixed(1)} s; raw file ${rawFileWall.toFixed(1)} s`);
  console.log(`cpu-summary ${JSON.stringify({ node: nodeWindow, ladder: ladderCpu, rawRtmp: rawRtmpCpu, rawFile: rawFileCpu, load: load() })}`);
  console.log(`left out: pushers ${f2(pusherLast)} s (ours, last 50 ms sample) and ${f2(pusher2Cpu)} s (raw rtmp); the raw listener's start-up before the push ${f2(listenerIdle)} s is inside its figure`);
}
