import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseConfigText, type EventBus, type Logger } from '@infra/core';
import { startMedia, type RunningMedia } from '../ingest/service.js';
import { locateFfmpeg } from '../ffmpeg/locate.js';
import { runningFfmpegCount } from './process.js';

// A separate file (its own worker): node-media-server keeps process-wide state, and this needs its own config.
// minSpeed 5 cannot be met by a live input (it arrives at 1x), so the ladder must shed renditions down to one.
const YAML = `version: 1
media:
  rtmp: { port: 0 }
  http: { port: 0 }
  review: { sampleSeconds: 0 }
  hls:
    segmentSeconds: 1
    listSize: 60
    preset: ultrafast
    minSpeed: 5
    speedWindowSeconds: 2
    maxRestarts: 2
    restoreAfterSeconds: 3
    renditions:
      - { name: 240p, height: 240, videoKbps: 300, audioKbps: 64 }
      - { name: 180p, height: 180, videoKbps: 200, audioKbps: 48 }
      - { name: 120p, height: 120, videoKbps: 120, audioKbps: 48 }
`;
const dataDir = mkdtempSync(join(tmpdir(), 'infra-media-resilience-'));
const bus: EventBus = { publish: async () => undefined, subscribe: async () => async () => undefined };
const warnings: string[] = [];
const infos: string[] = [];
const config = parseConfigText(YAML, 'infra.yaml', {}, []);
let media: RunningMedia;
let ffmpegPath: string;

beforeAll(async () => {
  ffmpegPath = (await locateFfmpeg('')).path;
  const logger = createLogger({ level: 'info' });
  // keep the warnings the pipeline logs (what an operator reads)
  const spy = (l: Logger): Logger => new Proxy(l, {
    get(target, prop, recv) {
      if (prop === 'warn' || prop === 'error') return (o: unknown, msg?: string) => { warnings.push(String(msg ?? o)); return (target[prop] as (...a: unknown[]) => void).call(target, o, msg); };
      if (prop === 'info') return (o: unknown, msg?: string) => { infos.push(String(msg ?? o)); return target.info(o as object, msg); };
      if (prop === 'child') return (b: object) => spy(target.child(b));
      return Reflect.get(target, prop, recv) as unknown;
    },
  });
  media = await startMedia({ config, secrets: { jwtSecret: 'j'.repeat(43), streamKeySalt: 's'.repeat(43) }, logger: spy(logger), dataDir, bus });
});
afterAll(async () => {
  await media?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function until<T>(what: string, fn: () => T | undefined | false, timeoutMs = 25_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function push(rtmpUrl: string, key: string, seconds: number): ChildProcess {
  return spawn(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', `${rtmpUrl}/${key}`], { stdio: 'ignore' });
}

describe('transcode resilience', () => {
  it('drops renditions that cannot keep up, restarts a crashed ffmpeg with continuing playlists, and records every part', async () => {
    const rtmpPort = media.endpoints.find((e) => e.name === 'rtmp')!.port;
    const s = await media.streams.create('resilient', undefined, { http: 'http://127.0.0.1', host: '127.0.0.1', rtmpPort, flvPort: 0 });
    const pusher = push(s.rtmpUrl, s.key, 16);
    const t0 = Date.now();
    try {
      const liveDir = join(dataDir, 'media', 'live', s.id);
      // shed to one rendition, the cheapest, with a warning for each drop
      const info = await until('the ladder to shrink to one rendition', () => media.transcodes().find((t) => t.streamId === s.id && t.renditions.length === 1));
      expect(info.renditions).toEqual(['120p']);
      expect(info.dropped).toEqual(['240p', '180p']);
      expect(warnings.filter((w) => w.includes('rendition dropped'))).toHaveLength(2);
      await until('the shorter master playlist', () => existsSync(join(liveDir, 'master.m3u8')) && readFileSync(join(liveDir, 'master.m3u8'), 'utf8').match(/^#EXT-X-STREAM-INF/gm)?.length === 1);
      expect(existsSync(join(liveDir, '2'))).toBe(false);

      // kill -9 the ffmpeg: a new one takes over, the playlist goes on after a discontinuity
      const before = await until('segments', () => {
        const text = existsSync(join(liveDir, '0', 'index.m3u8')) ? readFileSync(join(liveDir, '0', 'index.m3u8'), 'utf8') : '';
        return (text.match(/seg_\d+\.ts/g)?.length ?? 0) >= 2 ? text : undefined;
      });
      const current = await until('the one-rendition ffmpeg', () => media.transcodes().find((t) => t.streamId === s.id && t.pid !== undefined));
      process.kill(current.pid!, 'SIGKILL');
      const after = await until('a restarted ffmpeg', () => media.transcodes().find((t) => t.streamId === s.id && t.pid !== undefined && t.pid !== current.pid && t.restarts === 1));
      expect(after.renditions).toEqual(['120p']);
      const lastBefore = Math.max(...[...before.matchAll(/seg_(\d+)\.ts/g)].map((m) => Number(m[1])));
      const continued = await until('segments after the restart', () => {
        const text = readFileSync(join(liveDir, '0', 'index.m3u8'), 'utf8');
        const numbers = [...text.matchAll(/seg_(\d+)\.ts/g)].map((m) => Number(m[1]));
        return numbers.some((n) => n > lastBefore + 1) ? text : undefined;
      });
      expect(continued).toContain('#EXT-X-DISCONTINUITY');
      expect(warnings.some((w) => w.includes('restarting it'))).toBe(true);

      await new Promise<void>((r) => (pusher.exitCode !== null ? r() : pusher.once('exit', () => r())));
      const pushedMs = Date.now() - t0;
      // the VOD asset holds the parts before and after the crash
      const assets = await (async () => {
        const deadline = Date.now() + 20_000;
        for (;;) {
          const list = await media.recordings.list({ streamId: s.id });
          if (list.length > 0 || Date.now() > deadline) return list;
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      expect(assets).toHaveLength(1);
      // what was lost is the moment between the kill and the restart (about a second), not a part
      expect(assets[0]!.durationMs).toBeGreaterThan(pushedMs - 6000);
      expect(readdirSync(join(dataDir, 'media', 'rec')).filter((f) => f.includes('.part'))).toEqual([]);
    } finally {
      pusher.kill('SIGKILL');
    }
    await until('no ffmpeg left', () => runningFfmpegCount() === 0, 10_000);
  });

  it('tries a dropped rendition again once the ladder has kept up with real time for media.hls.restoreAfterSeconds', async () => {
    config.media.hls.minSpeed = 5; // unreachable: the 240p rendition goes
    const rtmpPort = media.endpoints.find((e) => e.name === 'rtmp')!.port;
    const s = await media.streams.create('restored', undefined, { http: 'http://127.0.0.1', host: '127.0.0.1', rtmpPort, flvPort: 0 });
    const pusher = push(s.rtmpUrl, s.key, 45);
    try {
      await until('a first drop', () => media.transcodes().find((t) => t.streamId === s.id && t.dropped.includes('240p')));
      // the machine has room again (the threshold moves instead of the load: same effect, deterministic)
      config.media.hls.minSpeed = 0.5;
      const back = await until('every rendition back', () => media.transcodes().find((t) => t.streamId === s.id && t.renditions.length === 3 && t.pid !== undefined), 40_000);
      expect(back.renditions).toEqual(['240p', '180p', '120p']);
      expect(back.dropped).toEqual([]);
      expect(infos.filter((m) => m.includes('dropped rendition restored')).length).toBeGreaterThanOrEqual(1);
      const liveDir = join(dataDir, 'media', 'live', s.id);
      await until('the full master playlist again', () => existsSync(join(liveDir, 'master.m3u8')) && readFileSync(join(liveDir, 'master.m3u8'), 'utf8').match(/^#EXT-X-STREAM-INF/gm)?.length === 3);
      await until('segments of the restored rendition', () => existsSync(join(liveDir, '2', 'index.m3u8')) && /seg_\d+\.ts/.test(readFileSync(join(liveDir, '2', 'index.m3u8'), 'utf8')));
    } finally {
      pusher.kill('SIGKILL');
      config.media.hls.minSpeed = 5;
    }
    await until('no ffmpeg left', () => runningFfmpegCount() === 0, 15_000);
  });
});
