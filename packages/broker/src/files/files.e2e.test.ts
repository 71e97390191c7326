/**
 * End to end through the real `infra up` child process (the composition root hands the broker's files routes to the
 * gateway): upload, authorised download, derivatives, and a clean shutdown.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FileInfo } from '@infra/core/topics';
import { infra, initStack, tempDir, upStack, type RunningStack } from '../../../cli/test/harness.js';
import { locateFfmpeg } from './ffmpeg.js';

const tmp = tempDir('infra-files-e2e-');
let dir: string;
let stack: RunningStack | undefined;
let base: string;
let png: Buffer;

beforeAll(async () => {
  dir = initStack(tmp.dir);
  execFileSync(locateFfmpeg(''), ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=800x600', '-frames:v', '1', join(tmp.dir, 'p.png')]);
  png = readFileSync(join(tmp.dir, 'p.png'));
  stack = await upStack(dir);
  base = `http://127.0.0.1:${stack.port('server', 'api')}/api/v1`;
}, 60_000);
afterAll(async () => {
  if (stack) await stack.stop();
  tmp.cleanup();
});

const token = (user: string): string => infra(['token', '--user', user, '--role', 'user', '--dir', dir]).stdout.trim();

describe('files through `infra up`', () => {
  it('uploads for a conversation, serves members only, makes the thumbnail, and stops cleanly', async () => {
    const [a, b, m] = [token('e2e-a'), token('e2e-b'), token('e2e-m')];
    const conv = (await (await fetch(`${base}/im/conversations`, { method: 'POST', headers: { authorization: `Bearer ${a}`, 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'direct', members: ['e2e-b'] }) })).json()) as { id: string };
    const form = new FormData();
    form.append('file', new Blob([png], { type: 'image/png' }), 'p.png');
    const res = await fetch(`${base}/files?convId=${conv.id}`, { method: 'POST', headers: { authorization: `Bearer ${a}` }, body: form });
    expect(res.status).toBe(201);
    const info = (await res.json()) as FileInfo;
    const get = (t: string, path: string): Promise<Response> => fetch(`${base}${path.replace(/^\/api\/v1/, '')}`, { headers: { authorization: `Bearer ${t}` } });
    const bytes = await get(b, info.url);
    expect(Buffer.from(await bytes.arrayBuffer()).equals(png)).toBe(true);
    expect((await get(m, info.url)).status).toBe(404);
    let meta = info;
    for (const end = Date.now() + 20_000; meta.status === 'processing' && Date.now() < end; await new Promise((r) => setTimeout(r, 100))) meta = (await (await get(a, `/files/${info.id}`)).json()) as FileInfo;
    expect(meta).toMatchObject({ status: 'ready', width: 800, height: 600 });
    expect((await get(b, meta.thumbnailUrl as string)).headers.get('content-type')).toBe('image/jpeg');
    const openapi = (await (await fetch(`${base.replace(/\/api\/v1$/, '')}/docs/json`)).json()) as { paths: Record<string, unknown> };
    expect(Object.keys(openapi.paths)).toEqual(expect.arrayContaining(['/api/v1/files', '/api/v1/files/{fileId}', '/api/v1/files/{fileId}/content', '/api/v1/stickers/packs']));
    const stopped = await (stack as RunningStack).stop();
    stack = undefined;
    expect(stopped.code).toBe(0);
  });
});
