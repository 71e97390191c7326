import { execFileSync } from 'node:child_process';
import { createReadStream, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImMessage } from '@infra/core/topics';
import { startTestStack, sleep, type TestStack } from '../../broker/test/stack.js';
import { locateFfmpeg } from '../../broker/src/files/ffmpeg.js';
import { InfraChat, ImError } from './index.js';

let stack: TestStack;
let work: string;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'infra-sdk-upload-'));
  const ffmpeg = locateFfmpeg('');
  execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=400x300', '-frames:v', '1', join(work, 'p.png')]);
  execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000', '-t', '1.5', join(work, 'v.wav')]);
  stack = await startTestStack();
}, 60_000);
afterAll(async () => {
  await stack?.close();
  rmSync(work, { recursive: true, force: true });
});

const chat = async (userId: string): Promise<InfraChat> => InfraChat.connect({ url: stack.mqttUrl, apiUrl: stack.apiUrl, userId, token: await stack.token(userId), reconnectPeriod: 0 });

describe('SDK upload()', () => {
  it('uploads a Buffer and a stream, waits for the derivatives, and sends them as messages', async () => {
    const alice = await chat('ann');
    const bob = await chat('ben');
    const got: ImMessage[] = [];
    bob.on('message', (m) => got.push(m));
    const conv = await alice.createConversation({ kind: 'direct', members: ['ben'] });
    const pic = await alice.upload(readFileSync(join(work, 'p.png')), { convId: conv.id, name: 'p.png', type: 'image/png' });
    expect(pic).toMatchObject({ kind: 'image', mime: 'image/png', status: 'ready', width: 400, height: 300, convId: conv.id });
    const voice = await alice.upload(createReadStream(join(work, 'v.wav')), { name: 'v.wav', type: 'audio/wav' });
    expect(voice).toMatchObject({ kind: 'audio', status: 'ready' });
    expect(Math.abs((voice.durationMs ?? 0) - 1500)).toBeLessThanOrEqual(200);
    await alice.send(conv.id, 'image', { fileId: pic.id });
    await alice.send(conv.id, 'voice', { fileId: voice.id });
    const end = Date.now() + 5000;
    while (got.length < 2 && Date.now() < end) await sleep(20);
    expect(got.map((m) => [m.type, m.body['fileId']])).toEqual([['image', pic.id], ['voice', voice.id]]);
    // larger than http.bodyLimit (1 MiB): uploads are limited by files.maxBytes only, and streamed
    const big = Buffer.concat([readFileSync(join(work, 'p.png')), Buffer.alloc(3 * 1024 * 1024, 9)]);
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < big.length; i += 256 * 1024) yield big.subarray(i, i + 256 * 1024);
    }
    const large = await alice.upload(chunks(), { name: 'big.png', type: 'image/png', wait: false });
    expect([large.size, large.mime]).toEqual([big.length, 'image/png']);
    // a refusal is an ImError with the server's code
    const fake = await alice.upload(new TextEncoder().encode('not a png at all'), { name: 'x.png', type: 'image/png' }).catch((e: unknown) => e);
    expect(fake).toBeInstanceOf(ImError);
    expect((fake as ImError).code).toBe('INFRA_ERR_FILE_TYPE');
    const stolen = await bob.send(conv.id, 'image', { fileId: pic.id }).catch((e: unknown) => e);
    expect((stolen as ImError).code).toBe('INFRA_ERR_FILE_NOT_FOUND');
    await alice.close();
    await bob.close();
  });
});
