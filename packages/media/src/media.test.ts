import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type Server } from 'node:http';
import { connect as netConnect, type AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import { createLogger, parseConfigText, topics, type EventBus } from '@infra/core';
import { startMedia, type RunningMedia } from './ingest/service.js';
import { locateFfmpeg } from './ffmpeg/locate.js';
import { runningFfmpegCount } from './transcode/process.js';
import type { StreamKeyReply } from './streams/schema.js';
import type { AssetReply } from './recordings/schema.js';

// node-media-server keeps process-wide state: one media service for this whole file.
const dataDir = mkdtempSync(join(tmpdir(), 'infra-media-'));
const published: { topic: string; payload: string; retain: boolean }[] = [];
/** The broker's in-process bus as media sees it (EventBus): here it records what media publishes. */
const bus: EventBus = {
  publish: async (topic, payload, opts) => void published.push({ topic, payload: payload.toString(), retain: Boolean(opts?.retain) }),
  subscribe: async () => async () => undefined,
};
let media: RunningMedia;
let app: FastifyInstance;
let base: string;
let ffmpegPath: string;
let classifier: Server;
const classified: { type: string; soi: string }[] = [];

// minSpeed 0: this file asserts the whole ladder, which a busy test machine must not shed (shedding and restarts:
// transcode/resilience.test.ts)
const YAML = `version: 1
media:
  rtmp: { port: 0 }
  http: { port: 0 }
  coverSeconds: 1
  viewerCountSeconds: 1
  review:
    sampleSeconds: 1
    classifierUrl: CLASSIFIER_URL
  hls:
    segmentSeconds: 1
    listSize: 30
    preset: ultrafast
    minSpeed: 0
    renditions:
      - { name: 240p, height: 240, videoKbps: 300, audioKbps: 64 }
      - { name: 120p, height: 120, videoKbps: 120, audioKbps: 48 }
`;

// a recording a crashed run left behind (named <streamId>.<sessionId>.ts): becomes an asset at start
const LEFTOVER_STREAM = 'st_0000000000000000000000left';
// one whose ffmpeg had restarted twice before the whole process crashed: three parts, each starting its timestamps at 0
const PARTS_STREAM = 'st_000000000000000000000parts';

beforeAll(async () => {
  ffmpegPath = (await locateFfmpeg('')).path;
  mkdirSync(join(dataDir, 'media', 'rec'), { recursive: true });
  execFileSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-f', 'mpegts',
    join(dataDir, 'media', 'rec', `${LEFTOVER_STREAM}.ls_00000000000000000000000000.ts`)]);
  const parts = join(dataDir, 'media', 'rec', `${PARTS_STREAM}.ls_00000000000000000000000000.ts`);
  for (const [suffix, seconds] of [['', 2], ['.part1', 1.5], ['.part2', 1]] as const) {
    execFileSync(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-f', 'mpegts', `${parts}${suffix}`]);
  }
  writeFileSync(`${parts}.joined.ts`, 'half a join the crash interrupted');
  // the configured classifier: a real HTTP endpoint that scores each frame it receives
  classifier = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const jpeg = Buffer.concat(chunks);
      classified.push({ type: req.headers['content-type'] ?? '', soi: jpeg.subarray(0, 2).toString('hex') });
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ label: 'safe', score: 0.02 }));
    });
  });
  await new Promise<void>((r) => classifier.listen(0, '127.0.0.1', r));
  const classifierUrl = `http://127.0.0.1:${(classifier.address() as AddressInfo).port}/score`;
  const config = parseConfigText(YAML.replace('CLASSIFIER_URL', classifierUrl), 'infra.yaml', {}, []);
  media = await startMedia({ config, secrets: { jwtSecret: 'j'.repeat(43), streamKeySalt: 's'.repeat(43) }, logger: createLogger(process.env['MEDIA_TEST_LOG'] ? { level: 'debug', extra: process.stderr } : {}), dataDir, bus });
  // registered the way the gateway does: API under /api/v1, files at their own prefix ('')
  app = Fastify({ ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } } });
  // the gateway's contract (packages/server installAuth): a verified caller on request.user; here from a test header
  app.addHook('onRequest', async (request) => {
    const user = request.headers['x-test-user'];
    if (typeof user === 'string') (request as unknown as { user: { sub: string; role: string } }).user = { sub: user, role: 'admin' };
  });
  for (const r of media.routes) await app.register(r.plugin as FastifyPluginAsync, { prefix: r.prefix ?? '/api/v1' });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const addr = app.server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  await app?.close();
  await media?.close();
  classifier?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function createStream(name: string, ttl?: string): Promise<StreamKeyReply> {
  const res = await fetch(`${base}/api/v1/media/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name, ...(ttl ? { ttl } : {}) }) });
  expect(res.status).toBe(201);
  return (await res.json()) as StreamKeyReply;
}

/**
 * ffmpeg standing in for OBS: Server + Stream Key, a small lavfi picture and tone. With loglevel debug, `publishAt()`
 * is when it sent the RTMP publish command (its "Sending publish command" line).
 */
function push(s: { rtmpUrl: string; key: string }, seconds: number, loglevel = 'error'): ChildProcess & { stderrText: () => string; publishAt: () => number | undefined } {
  const p = spawn(ffmpegPath, ['-hide_banner', '-loglevel', loglevel, '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100',
    '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-b:a', '64k', '-f', 'flv', `${s.rtmpUrl}/${s.key}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  let publishAt: number | undefined;
  p.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    if (publishAt === undefined && err.includes('Sending publish command')) publishAt = Date.now();
  });
  return Object.assign(p, { stderrText: () => err, publishAt: () => publishAt });
}

function exitOf(p: ChildProcess): Promise<number | null> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((r) => p.once('exit', (code) => r(code)));
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function getOk(url: string): Promise<Response | undefined> {
  const res = await fetch(url);
  return res.status === 200 ? res : undefined;
}

/** Bytes of an HTTP-FLV response within `ms` (the connection may be refused or closed early). */
async function flvBytes(url: string, ms: number, stopAfter = 1000): Promise<number> {
  const ctrl = new AbortController();
  const timer = setTimeout(() => ctrl.abort(), ms);
  let n = 0;
  try {
    const res = await fetch(url, { signal: ctrl.signal });
    const reader = res.body!.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      n += value.length;
      if (n > stopAfter) break;
    }
  } catch {
    // aborted or refused
  } finally {
    clearTimeout(timer);
    ctrl.abort();
  }
  return n;
}

/** The state changes published for a stream (viewer-count updates left out). */
function stateEvents(streamId: string): string[] {
  return published.filter((p) => p.topic === topics.liveState(streamId)).map((p) => JSON.parse(p.payload) as { state: string; viewers?: unknown })
    .filter((e) => e.viewers === undefined).map((e) => e.state);
}

describe('streams and keys', () => {
  it('POST /media/streams returns id, key, rtmpUrl and playback URLs by stream id, never by key', async () => {
    const s = await createStream('launch');
    expect(Object.keys(s).sort()).toEqual(['flvUrl', 'hlsUrl', 'id', 'key', 'keyExpiresAt', 'rtmpUrl']);
    expect(s.id).toMatch(/^st_/);
    expect(s.rtmpUrl).toBe(`rtmp://127.0.0.1:${media.endpoints.find((e) => e.name === 'rtmp')?.port}/live`);
    expect(s.key.startsWith(`${s.id}?key=`)).toBe(true);
    const secret = s.key.split('?key=')[1]!;
    expect(secret.length).toBeGreaterThanOrEqual(32);
    expect(s.hlsUrl).toBe(`${base}/live/${s.id}/master.m3u8`);
    expect(s.flvUrl).toBe(`http://127.0.0.1:${media.endpoints.find((e) => e.name === 'flv')?.port}/live/${s.id}.flv`);
    for (const url of [s.hlsUrl, s.flvUrl]) expect(url).not.toContain(secret);
    const listed = await (await fetch(`${base}/api/v1/media/streams/${s.id}`)).json() as Record<string, unknown>;
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(listed).toMatchObject({ id: s.id, name: 'launch', state: 'idle', keyRevoked: false });
  });

  it('rejects bad bodies and unknown streams with problem codes', async () => {
    const bad = await fetch(`${base}/api/v1/media/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'x', extra: 1 }) });
    expect(bad.status).toBe(400);
    const missing = await fetch(`${base}/api/v1/media/streams/st_00000000000000000000000000`);
    expect(missing.status).toBe(404);
  });

  it('refuses a wrong, revoked or expired key within a second, and starts nothing', async () => {
    const good = await createStream('keys');
    const revoked = await createStream('revoked');
    expect((await fetch(`${base}/api/v1/media/streams/${revoked.id}/key`, { method: 'DELETE' })).status).toBe(200);
    const expired = await createStream('expired', '1s');
    const rotated = await createStream('rotated');
    const fresh = (await (await fetch(`${base}/api/v1/media/streams/${rotated.id}/key`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })).json()) as StreamKeyReply;
    expect(fresh.key).not.toBe(rotated.key);
    await new Promise((r) => setTimeout(r, 1100));
    const attempts = [
      { rtmpUrl: good.rtmpUrl, key: `${good.id}?key=wrong-secret` },
      { rtmpUrl: good.rtmpUrl, key: good.id },
      { rtmpUrl: good.rtmpUrl, key: `st_00000000000000000000000000?key=${good.key.split('?key=')[1]}` },
      revoked,
      expired,
      rotated, // the key from before the rotation
      { rtmpUrl: good.rtmpUrl.replace(/\/live$/, '/other'), key: good.key }, // right key, wrong app
    ];
    const codes = await Promise.all(attempts.map(async (a) => {
      const p = push(a, 10, 'debug');
      const code = await exitOf(p);
      return { code, publishAt: p.publishAt(), refusedMs: Date.now() - (p.publishAt() ?? NaN) };
    }));
    for (const c of codes) {
      expect(c.code).not.toBe(0);
      expect(c.publishAt).toBeDefined(); // the pusher got as far as its RTMP publish command
      // from the RTMP publish command to the pusher's exit: ffmpeg's own start-up is not counted
      expect(c.refusedMs).toBeLessThan(1000);
    }
    expect(media.liveStreams()).toEqual([]);
    for (const s of [good, revoked, expired, rotated]) {
      expect(existsSync(join(dataDir, 'media', 'live', s.id))).toBe(false);
      expect(stateEvents(s.id)).toEqual([]);
    }
    expect(runningFfmpegCount()).toBe(0);
  });
});

describe('RTMP ingest socket', () => {
  /**
   * An RTMP server answers `connect` with several small messages written one after another (window size, peer
   * bandwidth, chunk size, _result). Under Nagle's algorithm only the first leaves at once: the rest wait for the
   * client's ACK, which Linux delays by 40 ms when the client has nothing to send. Every publish's start (and so the
   * first keyframe viewers see) paid that. Measured at the client, between the first reply byte and the _result.
   */
  it('answers connect without waiting for the client to acknowledge each message (no Nagle stall)', async () => {
    const port = media.endpoints.find((e) => e.name === 'rtmp')!.port;
    const sock = netConnect(port, '127.0.0.1');
    await new Promise((r) => sock.once('connect', r));
    let buf = Buffer.alloc(0);
    let handshaken = false;
    let firstReplyAt: number | undefined;
    const result = new Promise<number>((resolve, reject) => {
      sock.on('error', reject);
      sock.on('data', (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (!handshaken) {
          if (buf.length < 1 + 1536 + 1536) return;
          handshaken = true;
          const s1 = buf.subarray(1, 1537);
          buf = buf.subarray(1 + 1536 + 1536);
          sock.write(s1); // C2 echoes S1
          sock.write(connectCommand(`rtmp://127.0.0.1:${port}/live`));
          if (buf.length === 0) return;
        }
        firstReplyAt ??= performance.now();
        if (buf.includes('_result')) resolve(performance.now());
      });
    });
    sock.write(Buffer.concat([Buffer.from([3]), Buffer.alloc(1536, 7)])); // C0 (version 3) + C1
    const resultAt = await result;
    sock.destroy();
    expect(resultAt - firstReplyAt!).toBeLessThan(25); // 40 ms or more with Nagle on the server's socket
  });
});

/** An RTMP `connect` command (AMF0, chunk stream 3, one chunk: it stays under the default 128-byte chunk size). */
function connectCommand(tcUrl: string): Buffer {
  const str = (v: string): Buffer => Buffer.concat([Buffer.from([0x02, v.length >> 8, v.length & 0xff]), Buffer.from(v)]);
  const key = (k: string): Buffer => Buffer.concat([Buffer.from([k.length >> 8, k.length & 0xff]), Buffer.from(k)]);
  const num = Buffer.alloc(9);
  num.writeDoubleBE(1, 1); // transaction id 1 (marker 0x00 = number)
  const body = Buffer.concat([str('connect'), num, Buffer.from([0x03]), key('app'), str('live'), key('tcUrl'), str(tcUrl), Buffer.from([0, 0, 0x09])]);
  const header = Buffer.from([0x03, 0, 0, 0, body.length >> 16, (body.length >> 8) & 0xff, body.length & 0xff, 0x14, 0, 0, 0, 0]);
  return Buffer.concat([header, body]);
}

describe('recovery', () => {
  it('turns a recording left by a crashed run into a VOD asset at start', async () => {
    const asset = await until('recovered asset', async () => {
      const list = (await (await fetch(`${base}/api/v1/media/assets?streamId=${LEFTOVER_STREAM}`)).json()) as { assets: AssetReply[] };
      return list.assets[0];
    }, 10_000);
    expect(asset.durationMs).toBeGreaterThan(1500);
    expect(asset.durationMs).toBeLessThan(2600);
    expect((await fetch(`${base}${asset.url}`)).status).toBe(200);
  });

  it('joins every recording part of a session whose process crashed after ffmpeg restarts into one asset', async () => {
    const assets = await until('the joined asset', async () => {
      const list = (await (await fetch(`${base}/api/v1/media/assets?streamId=${PARTS_STREAM}`)).json()) as { assets: AssetReply[] };
      return list.assets.length > 0 ? list.assets : undefined;
    }, 15_000);
    expect(assets).toHaveLength(1);
    // 2 + 1.5 + 1 s: every part, one after the other (the first part alone would be 2 s)
    expect(assets[0]!.durationMs).toBeGreaterThan(4000);
    expect(assets[0]!.durationMs).toBeLessThan(5100);
    await until('rec/ emptied', () => readdirSync(join(dataDir, 'media', 'rec')).length === 0 || undefined, 10_000);
  });
});

describe('a live session', () => {
  it('publishes, writes an aligned HLS ladder and a cover, refuses a second publisher, and on the pusher dying becomes a VOD asset', async () => {
    const s = await createStream('show');
    const pusher = push(s, 60);
    try {
      const master = await until('master playlist', async () => {
        const res = await getOk(s.hlsUrl);
        return res ? await res.text() : undefined;
      });
      expect(master).toContain('#EXT-X-STREAM-INF');
      expect(master).toContain('RESOLUTION=320x240');
      expect(master).toContain('RESOLUTION=160x120');
      expect(stateEvents(s.id)).toEqual(['live']);
      expect(published.find((p) => p.topic === topics.liveState(s.id))?.retain).toBe(true);

      // one key cannot publish twice at once
      const second = push(s, 10);
      expect(await exitOf(second)).not.toBe(0);
      expect(pusher.exitCode).toBeNull();

      // every rendition: playlist and a segment over HTTP, with the right content types
      for (const r of ['0', '1']) {
        const playlist = await until(`rendition ${r} with 3 segments`, async () => {
          const res = await getOk(`${base}/live/${s.id}/${r}/index.m3u8`);
          const text = res ? await res.text() : '';
          return (text.match(/seg_\d+\.ts/g) ?? []).length >= 3 ? text : undefined;
        });
        const seg = /seg_\d+\.ts/.exec(playlist)![0];
        const res = await fetch(`${base}/live/${s.id}/${r}/${seg}`);
        expect(res.status).toBe(200);
        expect(res.headers.get('content-type')).toContain('video/mp2t');
        const bytes = Buffer.from(await res.arrayBuffer());
        expect(bytes[0]).toBe(0x47); // MPEG-TS sync byte
        expect(bytes.length).toBeGreaterThan(1000);
      }
      const cover = await until('cover', () => getOk(`${s.hlsUrl.replace('master.m3u8', 'cover.jpg')}`));
      const jpg = Buffer.from(await cover.arrayBuffer());
      expect(jpg.subarray(0, 2).toString('hex')).toBe('ffd8');

      // viewer counts: one HTTP-FLV player and this test's HLS requests, published on the state topic
      const flvViewer = flvBytes(s.flvUrl, 4000, Infinity);
      const counted = await until('viewer counts', () => {
        for (const p of published.filter((x) => x.topic === topics.liveState(s.id))) {
          const v = (JSON.parse(p.payload) as { viewers?: { flv: number; hls: number; total: number } }).viewers;
          if (v && v.flv >= 1 && v.hls >= 1) return v;
        }
        return undefined;
      }, 8000);
      expect(counted.flv).toBe(1); // our own ffmpeg pull is not a viewer
      expect(counted.total).toBe(counted.flv + counted.hls);
      await flvViewer;

      // unknown files and path tricks are 404s
      expect((await fetch(`${base}/live/${s.id}/..%2F..%2Fmedia.db`)).status).toBe(404);
      expect((await fetch(`${base}/live/${s.id}/0/index.m3u8x`)).status).toBe(404);
      expect(media.liveStreams()).toEqual([s.id]);
    } finally {
      pusher.kill('SIGKILL'); // the pusher dies mid-stream
    }
    const killedAt = Date.now();
    await until('ended event', () => stateEvents(s.id).includes('ended') || undefined, 5000);
    expect(Date.now() - killedAt).toBeLessThan(3000); // from the socket, not node-media-server's 30 s grace
    expect(stateEvents(s.id)).toEqual(['live', 'ended']);

    const asset = await until('VOD asset', async () => {
      const list = (await (await fetch(`${base}/api/v1/media/assets?streamId=${s.id}`)).json()) as { assets: AssetReply[] };
      return list.assets[0];
    }, 15_000);
    expect(runningFfmpegCount()).toBe(0);
    // the last live playlist was closed by ffmpeg (`q`/SIGINT), and the renditions cut on the same keyframes
    const durations = ['0', '1'].map((r) => readFileSync(join(dataDir, 'media', 'live', s.id, r, 'index.m3u8'), 'utf8'));
    for (const d of durations) expect(d).toContain('#EXT-X-ENDLIST');
    const extinf = durations.map((d) => (d.match(/#EXTINF:([\d.]+)/g) ?? []).slice(0, -1));
    expect(extinf[0]!.length).toBeGreaterThanOrEqual(3);
    expect(extinf[1]).toEqual(extinf[0]);

    expect(asset.durationMs).toBeGreaterThan(2000);
    expect(asset.durationMs).toBeLessThan(60_000);
    expect(asset.sizeBytes).toBeGreaterThan(10_000);
    const mp4 = Buffer.from(await (await fetch(`${base}${asset.url}`)).arrayBuffer());
    expect(mp4.length).toBe(asset.sizeBytes);
    const moov = mp4.indexOf('moov');
    const mdat = mp4.indexOf('mdat');
    expect(moov).toBeGreaterThan(0);
    expect(moov).toBeLessThan(mdat); // faststart
    const poster = await fetch(`${base}${asset.posterUrl}`);
    expect(poster.status).toBe(200);
    expect(Buffer.from(await poster.arrayBuffer()).subarray(0, 2).toString('hex')).toBe('ffd8');

    const events = (await (await fetch(`${base}/api/v1/media/streams/${s.id}/events`)).json()) as { events: { state: string }[] };
    expect(events.events.map((e) => e.state)).toEqual(['ended', 'live']);

    expect((await fetch(`${base}/api/v1/media/assets/${asset.id}`, { method: 'DELETE' })).status).toBe(204);
    expect((await fetch(`${base}/api/v1/media/assets/${asset.id}`)).status).toBe(404);
    expect((await fetch(`${base}${asset.url}`)).status).toBe(404);
    expect(existsSync(join(dataDir, 'media', 'vod', asset.id))).toBe(false);
  });

  it('an operator cut disconnects the publisher, revokes the key, ends it for viewers and is audited', async () => {
    const s = await createStream('cut');
    const pusher = push(s, 60);
    try {
      await until('live', () => media.liveStreams().includes(s.id) || undefined);
      const anonymous = await fetch(`${base}/api/v1/media/streams/${s.id}/cut`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'x' }) });
      expect(anonymous.status).toBe(401);
      expect(((await anonymous.json()) as { code: string }).code).toBe('INFRA_ERR_UNAUTHORIZED');
      const cut = await fetch(`${base}/api/v1/media/streams/${s.id}/cut`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-test-user': 'op1' }, body: JSON.stringify({ reason: 'terms of service' }) });
      expect(cut.status).toBe(200);
      expect(await cut.json()).toEqual({ streamId: s.id, wasLive: true });
      expect(await exitOf(pusher)).not.toBe(0);
      expect(media.liveStreams()).toEqual([]);
      expect(stateEvents(s.id)).toEqual(['live', 'cut']);
      const events = (await (await fetch(`${base}/api/v1/media/streams/${s.id}/events`)).json()) as { events: { state: string; actor?: string; reason?: string }[] };
      expect(events.events[0]).toMatchObject({ state: 'cut', actor: 'op1', reason: 'terms of service' });
      // the key is blocked: the same push is refused
      const again = push(s, 10);
      expect(await exitOf(again)).not.toBe(0);
      expect(stateEvents(s.id)).toEqual(['live', 'cut']);
    } finally {
      pusher.kill('SIGKILL');
    }
  });

  it('samples frames into the review queue, scores them with the classifier, and a `cut` decision cuts the stream', async () => {
    const s = await createStream('review');
    const pusher = push(s, 60);
    const op = { 'content-type': 'application/json', 'x-test-user': 'mod7' };
    try {
      type Item = { id: string; streamId: string; status: string; label: string | null; score: number | null; frameUrl: string };
      const items = await until('two scored review items', async () => {
        const list = (await (await fetch(`${base}/api/v1/media/review?status=pending&streamId=${s.id}`)).json()) as { items: Item[] };
        const scored = list.items.filter((i) => i.label !== null);
        return scored.length >= 2 ? scored : undefined;
      });
      expect(items[0]).toMatchObject({ streamId: s.id, status: 'pending', label: 'safe', score: 0.02 });
      expect(classified[0]).toEqual({ type: 'image/jpeg', soi: 'ffd8' });
      const frame = await fetch(`${base}${items[0]!.frameUrl}`);
      expect(frame.headers.get('content-type')).toBe('image/jpeg');
      expect(Buffer.from(await frame.arrayBuffer()).subarray(0, 2).toString('hex')).toBe('ffd8');

      const approve = await fetch(`${base}/api/v1/media/review/${items[1]!.id}`, { method: 'POST', headers: op, body: JSON.stringify({ decision: 'approve' }) });
      expect(approve.status).toBe(200);
      expect(await approve.json()).toMatchObject({ status: 'approved', decidedBy: 'mod7' });
      const twice = await fetch(`${base}/api/v1/media/review/${items[1]!.id}`, { method: 'POST', headers: op, body: JSON.stringify({ decision: 'cut' }) });
      expect(twice.status).toBe(409);
      expect(pusher.exitCode).toBeNull();

      const cut = await fetch(`${base}/api/v1/media/review/${items[0]!.id}`, { method: 'POST', headers: op, body: JSON.stringify({ decision: 'cut', reason: 'nudity' }) });
      expect(cut.status).toBe(200);
      expect(await exitOf(pusher)).not.toBe(0);
      expect(stateEvents(s.id)).toEqual(['live', 'cut']);
      const stream = (await (await fetch(`${base}/api/v1/media/streams/${s.id}`)).json()) as { keyRevoked: boolean; state: string };
      expect(stream).toMatchObject({ keyRevoked: true, state: 'cut' });
    } finally {
      pusher.kill('SIGKILL');
    }
  });

  it('a private stream plays only with a signed playback token (HLS in the path, FLV in the query)', async () => {
    const res = await fetch(`${base}/api/v1/media/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'vip', private: true }) });
    const s = (await res.json()) as StreamKeyReply;
    const pusher = push(s, 60);
    try {
      const tokenRes = await fetch(`${base}/api/v1/media/streams/${s.id}/playback-token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ttl: '10m' }) });
      expect(tokenRes.status).toBe(201);
      const t = (await tokenRes.json()) as { token: string; hlsUrl: string; flvUrl: string };
      expect(t.hlsUrl).toBe(`${base}/live/${s.id}/t/${t.token}/master.m3u8`);
      const master = await until('private master playlist', async () => {
        const r = await getOk(t.hlsUrl);
        return r ? await r.text() : undefined;
      });
      expect(master).toContain('0/index.m3u8'); // relative: resolves under /t/{token}/
      expect((await fetch(`${base}/live/${s.id}/t/${t.token}/0/index.m3u8`)).status).toBe(200);
      expect((await fetch(s.hlsUrl)).status).toBe(403);
      const forged = t.token.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      expect((await fetch(`${base}/live/${s.id}/t/${forged}/master.m3u8`)).status).toBe(403);
      expect((await fetch(`${base}/live/${s.id}/t/${t.token}/master.m3u8`.replace(s.id, (await createStream('other')).id))).status).toBe(404); // public stream, no files yet

      expect(await flvBytes(t.flvUrl, 5000)).toBeGreaterThan(13); // header + tags
      expect(await flvBytes(s.flvUrl, 3000)).toBeLessThan(13); // refused: closed before any tag
    } finally {
      pusher.kill('SIGKILL');
    }
  });

  it('on shutdown during a stream stops ffmpeg (no orphan) and disconnects the pusher', async () => {
    const s = await createStream('shutdown');
    const pusher = push(s, 60);
    try {
      await until('master playlist', () => getOk(s.hlsUrl));
      expect(runningFfmpegCount()).toBe(1);
      const t0 = Date.now();
      await media.close();
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(runningFfmpegCount()).toBe(0);
      expect(await exitOf(pusher)).not.toBe(0);
      expect(stateEvents(s.id)).toEqual(['live', 'ended']);
    } finally {
      pusher.kill('SIGKILL');
    }
  });
});
