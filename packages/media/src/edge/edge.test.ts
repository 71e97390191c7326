import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import { fileRoutes } from '../http/files.js';
import { renderNginxEdge } from './nginx.js';

// A real nginx (Debian package, installed by .ci/run) in front of media's real file routes.
const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => existsSync(p));
if (!NGINX) console.log('skipped: infra edge nginx tests need nginx (apt-get install nginx-light; .ci/run installs it)');
const root = mkdtempSync(join(tmpdir(), 'infra-edge-'));
const STREAM = 'st_01m8956eryedd7jcmp89n0rhqh';
let origin: FastifyInstance;
let nginx: ChildProcess | undefined;
let edge: string;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

beforeAll(async () => {
  if (!NGINX) return;
  const liveDir = join(root, 'media', 'live');
  mkdirSync(join(liveDir, STREAM, '0'), { recursive: true });
  writeFileSync(join(liveDir, STREAM, 'master.m3u8'), '#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=800000,RESOLUTION=640x360\n0/index.m3u8\n');
  writeFileSync(join(liveDir, STREAM, '0', 'index.m3u8'), '#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.0,\nseg_00000.ts\n');
  writeFileSync(join(liveDir, STREAM, '0', 'seg_00000.ts'), Buffer.alloc(188 * 100, 0x47));
  origin = Fastify();
  await origin.register(fileRoutes({ liveDir, vodDir: join(root, 'media', 'vod') }));
  await origin.listen({ port: 0, host: '127.0.0.1' });
  const originPort = (origin.server.address() as { port: number }).port;

  const prefix = join(root, 'edge');
  mkdirSync(prefix, { recursive: true });
  chmodSync(root, 0o755);
  chmodSync(prefix, 0o777); // nginx workers run as an unprivileged user when the master is root
  const listen = await freePort();
  const conf = join(prefix, 'nginx.conf');
  writeFileSync(conf, renderNginxEdge({ origin: `http://127.0.0.1:${originPort}`, listen, cacheDir: join(prefix, 'cache'), prefix, maxSize: '64m' }));
  const check = spawnSync(NGINX, ['-t', '-c', conf, '-p', prefix], { encoding: 'utf8' });
  expect(check.status, check.stderr).toBe(0);
  nginx = spawn(NGINX, ['-c', conf, '-p', prefix, '-g', 'daemon off;'], { stdio: 'ignore' });
  edge = `http://127.0.0.1:${listen}`;
  for (let i = 0; i < 100; i++) {
    if (await fetch(`${edge}/`).then(() => true, () => false)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  if (nginx && nginx.exitCode === null) {
    nginx.kill('SIGQUIT');
    await new Promise((r) => nginx!.once('exit', r));
  }
  await origin?.close();
  rmSync(root, { recursive: true, force: true });
});

describe.skipIf(!NGINX)('infra edge nginx', () => {
  it('caches HLS from the origin and keeps serving segments and playlists when the origin is stopped', async () => {
    const seg = `${edge}/live/${STREAM}/0/seg_00000.ts`;
    const first = await fetch(seg);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache-status')).toBe('MISS');
    expect(first.headers.get('content-type')).toBe('video/mp2t');
    await first.arrayBuffer();
    const second = await fetch(seg);
    expect(second.headers.get('x-cache-status')).toBe('HIT');
    await second.arrayBuffer();
    const master = await fetch(`${edge}/live/${STREAM}/master.m3u8`);
    expect(master.status).toBe(200);
    expect(await master.text()).toContain('#EXT-X-STREAM-INF');

    await origin.close(); // the origin is gone
    await new Promise((r) => setTimeout(r, 1100)); // the playlist's 1 s TTL has passed

    const cached = await fetch(seg);
    expect(cached.status).toBe(200);
    expect(cached.headers.get('x-cache-status')).toBe('HIT');
    expect(Buffer.from(await cached.arrayBuffer()).length).toBe(188 * 100);
    const stale = await fetch(`${edge}/live/${STREAM}/master.m3u8`);
    expect(stale.status).toBe(200);
    expect(['STALE', 'UPDATING', 'HIT']).toContain(stale.headers.get('x-cache-status'));
    const never = await fetch(`${edge}/live/${STREAM}/0/seg_00001.ts`);
    expect(never.status).toBe(502); // never cached, origin down: an honest error
    expect((await fetch(`${edge}/etc/passwd`)).status).toBe(404);
  });
});
