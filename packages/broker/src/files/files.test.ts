import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mqtt from 'mqtt';
import type { FileInfo, StickerPack } from '@infra/core/topics';
import { imDevice, startTestStack, type Inbox, type TestStack } from '../../test/stack.js';
import { createLogger, migrateModules, openSqlite } from '@infra/core';
import { FfmpegRunner, locateFfmpeg } from './ffmpeg.js';
import { DerivativeQueue, FilePaths } from './derive.js';
import { FileStore, type FileTables } from './store.js';
import { filesMigrations } from './index.js';

const MAX_BYTES = 300_000;
let stack: TestStack;
let work: string;
let ffmpeg: string;
const media: Record<'png' | 'mp4' | 'wav' | 'soundOnlyMp4', Buffer> = {} as never;
const VOICE_SECONDS = 2.35;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'infra-files-in-'));
  ffmpeg = locateFfmpeg('');
  const make = (name: string, args: string[]): Buffer => {
    execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', ...args, join(work, name)]);
    return readFileSync(join(work, name));
  };
  media.png = make('in.png', ['-f', 'lavfi', '-i', 'testsrc=size=640x480', '-frames:v', '1']);
  media.mp4 = make('in.mp4', ['-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=10', '-t', '2', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p']);
  media.soundOnlyMp4 = make('sound.mp4', ['-f', 'lavfi', '-i', 'sine=frequency=330:sample_rate=16000', '-t', '1.2', '-c:a', 'aac']);
  media.wav = make('in.wav', ['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=16000', '-t', String(VOICE_SECONDS), '-ac', '1']);
  stack = await startTestStack({ yaml: `files:\n  maxBytes: ${MAX_BYTES}\n  thumbnailPx: 320\n` });
}, 60_000);
afterAll(async () => {
  await stack?.close();
  rmSync(work, { recursive: true, force: true });
});

type Problem = { type: string; status: number };

async function upload(user: string, data: Buffer, name: string, type: string, opts: { convId?: string; role?: 'user' | 'admin' | 'service'; path?: string } = {}): Promise<{ status: number; body: FileInfo & { type: string; stickers: StickerPack['stickers'] } }> {
  const form = new FormData();
  if (opts.convId) form.append('convId', opts.convId);
  form.append('file', new Blob([data], { type }), name);
  const res = await fetch(`${stack.apiUrl}${opts.path ?? '/files'}`, { method: 'POST', headers: { authorization: `Bearer ${await stack.token(user, opts.role ?? 'user')}` }, body: form });
  return { status: res.status, body: (await res.json()) as never };
}

async function download(user: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string | null; bytes: Buffer; headers: Headers }> {
  const res = await fetch(`${stack.apiUrl.replace(/\/api\/v1$/, '')}${path}`, { headers: { authorization: `Bearer ${await stack.token(user)}`, ...headers } });
  return { status: res.status, type: res.headers.get('content-type'), bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}

async function ready(user: string, id: string): Promise<FileInfo> {
  const until = Date.now() + 20_000;
  for (;;) {
    const r = await stack.http<FileInfo>('GET', `/files/${id}`, user);
    if (r.body.status !== 'processing' || Date.now() > until) return r.body;
    await new Promise((res) => setTimeout(res, 100));
  }
}

/** Width and height from a JPEG's SOF marker: the test reads the thumbnail's real size, not our metadata. */
function jpegSize(buf: Buffer): { width: number; height: number } {
  expect(buf.subarray(0, 2).toString('hex')).toBe('ffd8');
  let i = 2;
  while (i < buf.length) {
    const marker = buf[i + 1] as number;
    const len = buf.readUInt16BE(i + 2);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return { height: buf.readUInt16BE(i + 5), width: buf.readUInt16BE(i + 7) };
    i += 2 + len;
  }
  throw new Error('no SOF marker');
}

const filesOnDisk = (): string[] => ['blobs', 'tmp'].flatMap((d) => readdirSync(join(stack.dataDir, 'files', d)).map((f) => `${d}/${f}`));
const direct = async (a: string, b: string): Promise<string> => (await stack.http<{ id: string }>('POST', '/im/conversations', a, { kind: 'direct', members: [b] })).body.id;

describe('uploads and downloads', () => {
  it('stores an upload for a conversation, serves it to a member with Range, and hides it from everyone else', async () => {
    const conv = await direct('alice', 'bob');
    const up = await upload('alice', media.png, 'cat.png', 'image/png', { convId: conv });
    expect(up.status).toBe(201);
    expect(up.body).toMatchObject({ kind: 'image', mime: 'image/png', size: media.png.length, name: 'cat.png', convId: conv, uploaderId: 'alice' });
    expect(['processing', 'ready']).toContain(up.body.status);
    const got = await download('bob', up.body.url);
    expect([got.status, got.type]).toEqual([200, 'image/png']);
    expect(got.bytes.equals(media.png)).toBe(true);
    const part = await download('bob', up.body.url, { range: 'bytes=1-3' });
    expect([part.status, part.bytes.toString('latin1'), part.headers.get('content-range')]).toEqual([206, 'PNG', `bytes 1-3/${media.png.length}`]);
    expect((await download('bob', up.body.url, { range: `bytes=${media.png.length}-` })).status).toBe(416);
    // not a member: 404 for the metadata and the bytes, exactly as for a file that does not exist
    const meta = await stack.http<Problem>('GET', `/files/${up.body.id}`, 'mallory');
    expect([meta.status, meta.body.type]).toEqual([404, 'INFRA_ERR_FILE_NOT_FOUND']);
    expect((await download('mallory', up.body.url)).status).toBe(404);
    expect((await stack.http<Problem>('GET', '/files/file_doesnotexist', 'mallory')).body.type).toBe('INFRA_ERR_FILE_NOT_FOUND');
    // uploading for a conversation one is not in
    const foreign = await upload('mallory', media.png, 'x.png', 'image/png', { convId: conv });
    expect([foreign.status, foreign.body.type]).toEqual([403, 'INFRA_ERR_IM_NOT_MEMBER']);
    const anon = await fetch(`${stack.apiUrl}/files/${up.body.id}/content`);
    expect(anon.status).toBe(401);
  });

  it('sniffs the bytes: a text file named .png and declared image/png is 415 and nothing is kept', async () => {
    const before = filesOnDisk();
    const fake = await upload('alice', Buffer.from('just some text, honestly not a picture\n'.repeat(20)), 'fake.png', 'image/png');
    expect([fake.status, fake.body.type]).toEqual([415, 'INFRA_ERR_FILE_TYPE']);
    // real PNG bytes that claim to be a video
    const liar = await upload('alice', media.png, 'clip.mp4', 'video/mp4');
    expect([liar.status, liar.body.type]).toEqual([415, 'INFRA_ERR_FILE_TYPE']);
    // octet-stream means "I do not know": the sniffed type wins
    const unsure = await upload('alice', media.png, 'blob.bin', 'application/octet-stream');
    expect([unsure.status, unsure.body.mime]).toEqual([201, 'image/png']);
    expect(filesOnDisk().sort()).toEqual([...before, `blobs/${unsure.body.id}`].sort());
  });

  it('refuses an oversize upload with 413 and leaves no partial file', async () => {
    const before = filesOnDisk();
    // just over the limit: streamed, cut at files.maxBytes, the partial file removed
    const near = await upload('alice', Buffer.concat([media.png, Buffer.alloc(MAX_BYTES + 10 - media.png.length, 7)]), 'big.png', 'image/png');
    expect([near.status, near.body.type]).toEqual([413, 'INFRA_ERR_FILE_TOO_LARGE']);
    // far over: refused from Content-Length before reading
    const far = await upload('alice', Buffer.alloc(MAX_BYTES * 3, 1), 'huge.bin', 'application/octet-stream');
    expect([far.status, far.body.type]).toEqual([413, 'INFRA_ERR_FILE_TOO_LARGE']);
    // streamed without a Content-Length (chunked): cut while streaming
    const boundary = 'b0und4ry';
    async function* chunked(): AsyncGenerator<Uint8Array> {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="s.png"\r\nContent-Type: image/png\r\n\r\n`);
      yield media.png;
      for (let sent = 0; sent < MAX_BYTES * 2; sent += 65536) yield Buffer.alloc(65536, 3);
      yield Buffer.from(`\r\n--${boundary}--\r\n`);
    }
    const streamed = await fetch(`${stack.apiUrl}/files`, {
      method: 'POST', headers: { authorization: `Bearer ${await stack.token('alice')}`, 'content-type': `multipart/form-data; boundary=${boundary}` }, body: chunked() as never, duplex: 'half',
    } as RequestInit);
    expect([streamed.status, ((await streamed.json()) as Problem).type]).toEqual([413, 'INFRA_ERR_FILE_TOO_LARGE']);
    expect(filesOnDisk().sort()).toEqual(before.sort());
    // and the server still takes uploads
    expect((await upload('alice', media.png, 'ok.png', 'image/png')).status).toBe(201);
  });

  it('refuses requests that are not one file part', async () => {
    const res = await fetch(`${stack.apiUrl}/files`, { method: 'POST', headers: { authorization: `Bearer ${await stack.token('alice')}`, 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as Problem).type).toBe('INFRA_ERR_FILE_BAD_UPLOAD');
    const form = new FormData();
    form.append('convId', 'x');
    const none = await fetch(`${stack.apiUrl}/files`, { method: 'POST', headers: { authorization: `Bearer ${await stack.token('alice')}` }, body: form });
    expect(((await none.json()) as Problem).type).toBe('INFRA_ERR_FILE_BAD_UPLOAD');
    // two files: the first is stored, the second ignored
    const before = filesOnDisk();
    const two = new FormData();
    two.append('file', new Blob([media.png], { type: 'image/png' }), 'one.png');
    two.append('file', new Blob([media.wav], { type: 'audio/wav' }), 'two.wav');
    const both = await fetch(`${stack.apiUrl}/files`, { method: 'POST', headers: { authorization: `Bearer ${await stack.token('alice')}` }, body: two });
    const first = (await both.json()) as FileInfo;
    expect([both.status, first.name]).toEqual([201, 'one.png']);
    expect(filesOnDisk().length).toBe(before.length + 1);
  });
});

describe('derivatives (ffmpeg, after the 201)', () => {
  it('makes a JPEG thumbnail of at most 320 px of an image', async () => {
    const up = await upload('alice', media.png, 'big.png', 'image/png');
    const info = await ready('alice', up.body.id);
    expect(info).toMatchObject({ status: 'ready', width: 640, height: 480, thumbnailUrl: `/api/v1/files/${up.body.id}/thumbnail` });
    const thumb = await download('alice', info.thumbnailUrl as string);
    expect([thumb.status, thumb.type]).toEqual([200, 'image/jpeg']);
    expect(jpegSize(thumb.bytes)).toEqual({ width: 320, height: 240 });
  });

  it('takes a cover frame and the duration of a video', async () => {
    const up = await upload('alice', media.mp4, 'clip.mp4', 'video/mp4');
    expect(up.body.kind).toBe('video');
    const info = await ready('alice', up.body.id);
    expect(info).toMatchObject({ status: 'ready', width: 320, height: 240 });
    expect(Math.abs((info.durationMs ?? 0) - 2000)).toBeLessThanOrEqual(200);
    const cover = await download('alice', info.thumbnailUrl as string);
    expect(jpegSize(cover.bytes)).toEqual({ width: 320, height: 240 });
  });

  it('measures a voice clip and transcodes it to AAC (m4a)', async () => {
    const up = await upload('alice', media.wav, 'voice.wav', 'audio/wav');
    expect([up.body.kind, up.body.mime]).toEqual(['audio', 'audio/wav']);
    const info = await ready('alice', up.body.id);
    expect(info.status).toBe('ready');
    expect(Math.abs((info.durationMs ?? 0) - VOICE_SECONDS * 1000)).toBeLessThanOrEqual(200);
    const aac = await download('alice', info.audioUrl as string);
    expect([aac.status, aac.type]).toEqual([200, 'audio/mp4']);
    expect(aac.bytes.subarray(4, 8).toString('latin1')).toBe('ftyp');
    // the transcode really is AAC of about the same length: ask ffmpeg
    const probe = join(work, 'probe.m4a');
    execFileSync('sh', ['-c', `cat > ${probe}`], { input: aac.bytes });
    let stderr = '';
    try {
      execFileSync(ffmpeg, ['-hide_banner', '-i', probe], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      stderr = String((err as { stderr?: Buffer }).stderr ?? ''); // no output file: ffmpeg exits 1 after describing the input
    }
    expect(stderr).toMatch(/Audio: aac/);
  });

  it('turns an MP4 that holds only sound (as phones record voice) into an audio file that can be sent as voice', async () => {
    const up = await upload('alice', media.soundOnlyMp4, 'memo.mp4', 'video/mp4');
    expect([up.status, up.body.kind]).toEqual([201, 'video']); // all the sniffer can tell
    const info = await ready('alice', up.body.id);
    expect(info).toMatchObject({ status: 'ready', kind: 'audio', audioUrl: `/api/v1/files/${up.body.id}/audio` });
    expect(Math.abs((info.durationMs ?? 0) - 1200)).toBeLessThanOrEqual(200);
    const conv = await direct('alice', 'bob');
    const a = await device('alice');
    expect((await sendAndWait(a, { convId: conv, clientMsgId: 'memo-1', type: 'voice', body: { fileId: up.body.id } }))['kind']).toBe('ack');
    await a.c.endAsync();
  });

  it('marks a file whose bytes ffmpeg cannot decode as failed, and such a file cannot be sent as an image', async () => {
    // a PNG signature (so the sniffer says image/png) followed by garbage
    const broken = Buffer.concat([media.png.subarray(0, 16), Buffer.alloc(4000, 0x41)]);
    const up = await upload('alice', broken, 'broken.png', 'image/png');
    expect([up.status, up.body.mime]).toEqual([201, 'image/png']);
    const info = await ready('alice', up.body.id);
    expect(info.status).toBe('failed');
    expect(info.error).toBeTruthy();
    expect((await stack.http<Problem>('GET', `/files/${up.body.id}/thumbnail`, 'alice')).body.type).toBe('INFRA_ERR_FILE_NOT_FOUND');
    const conv = await direct('alice', 'bob');
    const a = await device('alice');
    expect((await sendAndWait(a, { convId: conv, clientMsgId: 'broken-1', type: 'image', body: { fileId: up.body.id } }))['code']).toBe('INFRA_ERR_FILE_NOT_READY');
    await a.c.endAsync();
  });

  it('runs at most files.ffmpegConcurrency ffmpeg at once and finishes every job', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-files-queue-'));
    const db = openSqlite<FileTables>(join(dir, 'q.db'));
    try {
      await migrateModules(db.db as never, [filesMigrations]);
      const store = new FileStore(db.db);
      const paths = new FilePaths(join(dir, 'files'));
      const runner = new FfmpegRunner(() => ffmpeg, 30_000);
      const queue = new DerivativeQueue(store, runner, paths, { thumbnailPx: 64, ffmpegConcurrency: 2 }, createLogger({ level: 'error' }));
      const rows = Array.from({ length: 6 }, (_, i) => ({
        id: `file_q${i}`, uploader_id: 'u', conv_id: null, kind: (i % 2 ? 'audio' : 'image') as 'audio' | 'image', mime: i % 2 ? 'audio/wav' : 'image/png', size: 1, name: 'x',
        status: 'processing' as const, public: 0, width: null, height: null, duration_ms: null, has_thumbnail: 0, has_audio: 0, error: null, created_at: i, processed_at: null,
      }));
      for (const row of rows) {
        writeFileSync(paths.blob(row.id), row.kind === 'audio' ? media.wav : media.png);
        await store.insert(row);
        queue.enqueue(row);
      }
      let peak = 0;
      const sampler = setInterval(() => (peak = Math.max(peak, runner.running)), 5);
      await queue.idle();
      clearInterval(sampler);
      expect(peak).toBeGreaterThanOrEqual(1);
      expect(peak).toBeLessThanOrEqual(2);
      expect((await Promise.all(rows.map((r) => store.file(r.id)))).map((r) => r?.status)).toEqual(rows.map(() => 'ready'));
      await runner.close();
    } finally {
      await db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('uses media.ffmpeg when set, and names a missing binary', () => {
    expect(locateFfmpeg(ffmpeg)).toBe(ffmpeg);
    expect(() => locateFfmpeg('/nonexistent/ffmpeg')).toThrow(expect.objectContaining({ code: 'INFRA_ERR_FFMPEG_MISSING' }));
  });

  it('kills an ffmpeg that outlives the timeout, and every running ffmpeg on close', async () => {
    const long = ['-re', '-f', 'lavfi', '-i', 'sine=frequency=300:sample_rate=8000', '-t', '600', '-f', 'null', '-'];
    const timed = new FfmpegRunner(() => ffmpeg, 500);
    const started = Date.now();
    await expect(timed.run(long)).rejects.toThrow(/timed out/);
    expect(Date.now() - started).toBeLessThan(5000);
    const runner = new FfmpegRunner(() => ffmpeg, 60_000);
    const job = runner.run(long);
    await new Promise((r) => setTimeout(r, 300));
    expect(runner.running).toBe(1);
    await runner.close();
    expect(runner.running).toBe(0);
    await expect(job).rejects.toThrow(/SIGKILL/);
    await expect(runner.run(long)).rejects.toThrow(/closed/);
  });
});

const device = (user: string) => imDevice(stack, user);
const sendAndWait = async (d: { c: mqtt.MqttClient; box: Inbox }, msg: Record<string, unknown>): Promise<Record<string, unknown>> => {
  await d.c.publishAsync('im/send', JSON.stringify(msg), { qos: 1 });
  return (await d.box.next((e) => (e.data['kind'] === 'ack' || e.data['kind'] === 'error') && e.data['clientMsgId'] === msg['clientMsgId'])).data;
};

describe('messages that carry files', () => {
  it('fills in the file’s facts, refuses another user’s file or the wrong kind, and lets the members read what was sent', async () => {
    const group = (await stack.http<{ id: string }>('POST', '/im/conversations', 'olga', { kind: 'group', members: ['pia', 'quin'] })).body.id;
    const olga = await device('olga');
    const pia = await device('pia');
    const pic = await upload('olga', media.png, 'pic.png', 'image/png'); // no convId: only olga may read it so far
    await ready('olga', pic.body.id);
    expect((await download('quin', pic.body.url)).status).toBe(404);
    const ack = await sendAndWait(olga, { convId: group, clientMsgId: 'img-1', type: 'image', body: { fileId: pic.body.id } });
    expect(ack['kind']).toBe('ack');
    const msg = (await pia.box.next((e) => e.data['kind'] === 'message' && (e.data['message'] as { clientMsgId: string }).clientMsgId === 'img-1')).data['message'] as { body: Record<string, unknown> };
    expect(msg.body).toMatchObject({ fileId: pic.body.id, url: pic.body.url, mime: 'image/png', width: 640, height: 480, thumbUrl: `/api/v1/files/${pic.body.id}/thumbnail` });
    // sent to the group: now its members may read it; outsiders still may not
    expect((await download('quin', pic.body.url)).status).toBe(200);
    expect((await download('mallory', pic.body.url)).status).toBe(404);
    // pia sends olga's file id: refused as if it did not exist, nothing stored
    const stolen = await sendAndWait(pia, { convId: group, clientMsgId: 'steal-1', type: 'image', body: { fileId: pic.body.id } });
    expect([stolen['kind'], stolen['code']]).toEqual(['error', 'INFRA_ERR_FILE_NOT_FOUND']);
    // an image as a voice message
    const wrong = await sendAndWait(olga, { convId: group, clientMsgId: 'voice-1', type: 'voice', body: { fileId: pic.body.id } });
    expect(wrong['code']).toBe('INFRA_ERR_FILE_KIND');
    // a real voice message carries the measured duration and the AAC url
    const clip = await upload('olga', media.wav, 'v.wav', 'audio/wav');
    await ready('olga', clip.body.id);
    expect((await sendAndWait(olga, { convId: group, clientMsgId: 'voice-2', type: 'voice', body: { fileId: clip.body.id } }))['kind']).toBe('ack');
    const history = await stack.http<{ messages: { clientMsgId: string; body: Record<string, unknown> }[] }>('GET', `/im/conversations/${group}/messages`, 'pia');
    expect(history.body.messages.map((m) => m.clientMsgId)).toEqual(['img-1', 'voice-2']);
    expect(history.body.messages[1]?.body).toMatchObject({ fileId: clip.body.id, url: `/api/v1/files/${clip.body.id}/audio`, mime: 'audio/mp4' });
    expect(Math.abs(Number(history.body.messages[1]?.body['durationMs']) - VOICE_SECONDS * 1000)).toBeLessThanOrEqual(200);
    // any file may go as a `file` message, its name from the upload
    expect((await sendAndWait(olga, { convId: group, clientMsgId: 'file-1', type: 'file', body: { fileId: clip.body.id } }))['kind']).toBe('ack');
    for (const d of [olga, pia]) await d.c.endAsync();
  });
});

describe('sticker packs', () => {
  it('lets backends make packs, everyone list them, and users send stickers by id', async () => {
    const denied = await stack.http<Problem>('POST', '/stickers/packs', 'rita', { name: 'mine' });
    expect([denied.status, denied.body.type]).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    const pack = await stack.http<StickerPack>('POST', '/stickers/packs', 'ops', { name: 'cats' }, 'admin');
    expect(pack.status).toBe(201);
    const added = await upload('ops', media.png, 'wave.png', 'image/png', { role: 'admin', path: `/stickers/packs/${pack.body.id}/stickers?name=wave` });
    expect(added.status).toBe(201);
    const sticker = added.body.stickers[0] as StickerPack['stickers'][number];
    expect(sticker).toMatchObject({ name: 'wave' });
    const notImage = await upload('ops', media.wav, 'x.wav', 'audio/wav', { role: 'admin', path: `/stickers/packs/${pack.body.id}/stickers` });
    expect([notImage.status, notImage.body.type]).toEqual([400, 'INFRA_ERR_FILE_KIND']);
    const listed = await stack.http<{ packs: StickerPack[] }>('GET', '/stickers/packs', 'rita');
    expect(listed.body.packs.find((p) => p.id === pack.body.id)?.stickers.map((s) => s.id)).toEqual([sticker.id]);
    // sticker images are readable by every user
    expect((await download('rita', sticker.url)).status).toBe(200);
    const conv = await direct('rita', 'sam');
    const rita = await device('rita');
    const ok = await sendAndWait(rita, { convId: conv, clientMsgId: 'stk-1', type: 'sticker', body: { packId: pack.body.id, stickerId: sticker.id } });
    expect(ok['kind']).toBe('ack');
    const stored = await stack.http<{ messages: { body: Record<string, unknown> }[] }>('GET', `/im/conversations/${conv}/messages`, 'sam');
    expect(stored.body.messages[0]?.body).toEqual({ packId: pack.body.id, stickerId: sticker.id, fileId: sticker.fileId, url: sticker.url });
    const unknown = await sendAndWait(rita, { convId: conv, clientMsgId: 'stk-2', type: 'sticker', body: { packId: pack.body.id, stickerId: 'stk_nope' } });
    expect(unknown['code']).toBe('INFRA_ERR_STICKER_NOT_FOUND');
    await rita.c.endAsync();
  });
});

describe('restart', () => {
  it('keeps files, metadata and download rights across a broker restart and finishes interrupted processing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'infra-files-restart-'));
    let first: TestStack | undefined = await startTestStack({ dataDir });
    const conv = (await first.http<{ id: string }>('POST', '/im/conversations', 'una', { kind: 'direct', members: ['vic'] })).body.id;
    const form = new FormData();
    form.append('file', new Blob([media.mp4], { type: 'video/mp4' }), 'c.mp4');
    const res = await fetch(`${first.apiUrl}/files?convId=${conv}`, { method: 'POST', headers: { authorization: `Bearer ${await first.token('una')}` }, body: form });
    const info = (await res.json()) as FileInfo;
    await first.close(false); // most likely while ffmpeg still runs: it is killed, the file stays `processing`
    first = undefined;
    writeFileSync(join(dataDir, 'files', 'tmp', 'file_crashed.upload'), 'half an upload from a crash');
    const second = await startTestStack({ dataDir });
    expect(readdirSync(join(dataDir, 'files', 'tmp'))).toEqual([]); // swept at start
    try {
      const until = Date.now() + 20_000;
      let meta = (await second.http<FileInfo>('GET', `/files/${info.id}`, 'vic')).body;
      while (meta.status === 'processing' && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 100));
        meta = (await second.http<FileInfo>('GET', `/files/${info.id}`, 'vic')).body;
      }
      expect(meta, meta.error).toMatchObject({ status: 'ready', width: 320 });
      const bytes = await fetch(`${second.apiUrl}/files/${info.id}/content`, { headers: { authorization: `Bearer ${await second.token('vic')}` } });
      expect(Buffer.from(await bytes.arrayBuffer()).equals(media.mp4)).toBe(true);
      expect((await second.http('GET', `/files/${info.id}`, 'mallory')).status).toBe(404);
    } finally {
      await second.close();
    }
  });
});
