import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { fileRoutes } from './files.js';

// The /live route serves from memory (stat per request): these check it never serves a stale, deleted or forbidden file.
const root = mkdtempSync(join(tmpdir(), 'infra-files-'));
const liveDir = join(root, 'live');
const PUBLIC = 'st_0000000000000000000000pub0';
const PRIVATE = 'st_0000000000000000000000priv';
const TOKEN = '1999999999.abcdefghijklmnopqrstuvwxyz012345';
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  for (const id of [PUBLIC, PRIVATE]) {
    mkdirSync(join(liveDir, id, '0'), { recursive: true });
    writeFileSync(join(liveDir, id, '0', 'index.m3u8'), '#EXTM3U\n#EXTINF:2.0,\nseg_00001.ts\n');
    writeFileSync(join(liveDir, id, '0', 'seg_00001.ts'), Buffer.alloc(4000, 0x47));
  }
  writeFileSync(join(root, 'secret.ts'), 'not a stream');
  app = Fastify();
  await app.register(fileRoutes({ liveDir, vodDir: join(root, 'vod'), mayPlay: async (id, token) => id !== PRIVATE || token === TOKEN }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
});
afterAll(async () => {
  await app?.close();
  rmSync(root, { recursive: true, force: true });
});

describe('live HLS files', () => {
  it('serves a playlist with an ETag, answers 304 to it, and serves the new one as soon as ffmpeg renamed it into place', async () => {
    const url = `${base}/live/${PUBLIC}/0/index.m3u8`;
    const first = await fetch(url);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toBe('application/vnd.apple.mpegurl');
    expect(first.headers.get('cache-control')).toBe('public, max-age=1');
    const etag = first.headers.get('etag')!;
    expect(etag).toMatch(/^"[0-9a-f]+-[0-9a-f]+"$/);
    expect(await first.text()).toContain('seg_00001.ts');
    expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304);

    const tmp = join(liveDir, PUBLIC, '0', 'index.m3u8.tmp');
    writeFileSync(tmp, '#EXTM3U\n#EXTINF:2.0,\nseg_00001.ts\n#EXTINF:2.0,\nseg_00002.ts\n');
    renameSync(tmp, join(liveDir, PUBLIC, '0', 'index.m3u8'));
    const second = await fetch(url, { headers: { 'if-none-match': etag } });
    expect(second.status).toBe(200);
    expect(second.headers.get('etag')).not.toBe(etag);
    expect(await second.text()).toContain('seg_00002.ts');
  });

  it('serves segments (whole, or a byte range), and nothing once they are deleted', async () => {
    const url = `${base}/live/${PUBLIC}/0/seg_00001.ts`;
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('video/mp2t');
    expect(res.headers.get('cache-control')).toBe('public, max-age=86400, immutable');
    expect((await res.arrayBuffer()).byteLength).toBe(4000);
    const range = await fetch(url, { headers: { range: 'bytes=0-9' } });
    expect(range.status).toBe(206);
    expect((await range.arrayBuffer()).byteLength).toBe(10);
    rmSync(join(liveDir, PUBLIC, '0', 'seg_00001.ts'));
    expect((await fetch(url)).status).toBe(404);
  });

  it('a private stream needs its token on every request, also for files already in memory', async () => {
    const withToken = `${base}/live/${PRIVATE}/t/${TOKEN}/0/index.m3u8`;
    expect((await fetch(withToken)).status).toBe(200);
    expect((await fetch(withToken)).headers.get('cache-control')).toBe('private, max-age=1');
    const without = await fetch(`${base}/live/${PRIVATE}/0/index.m3u8`);
    expect(without.status).toBe(403);
    expect(((await without.json()) as { code: string }).code).toBe('INFRA_ERR_FORBIDDEN');
  });

  it('no path leaves the stream folder', async () => {
    for (const path of [`/live/${PUBLIC}/..%2F..%2Fsecret.ts`, `/live/${PUBLIC}/0/..%2F..%2F..%2Fsecret.ts`, `/live/${PUBLIC}/../secret.ts`, `/live/..%2F${PUBLIC}/0/index.m3u8`, `/live/${PUBLIC}/0%2Findex.m3u8%00`]) {
      expect([400, 404]).toContain((await fetch(`${base}${path}`)).status);
    }
  });
});
