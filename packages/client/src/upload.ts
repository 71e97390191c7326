import type { FileInfo } from '@infra/core/topics';

/** What upload() sends: bytes in memory, a Blob/File (browsers), or a stream (a Node Readable is an AsyncIterable). */
export type UploadData = Uint8Array | Blob | AsyncIterable<Uint8Array>;

export interface UploadOptions {
  /** the conversation the file is for: its members may read it before any message carries it */
  convId?: string;
  /** file name shown to recipients (default: file) */
  name?: string;
  /** the content type you believe it has; the server sniffs the bytes and refuses a mismatch (default application/octet-stream) */
  type?: string;
  /** wait until derivatives (thumbnail, duration, transcode) are made, polling the metadata; default true, 30 s */
  wait?: boolean;
  waitTimeoutMs?: number;
}

export interface FileApi {
  apiUrl: string;
  token: string;
  /** the SDK's problem+json → ImError mapping */
  fail(res: Response): Promise<never>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function isAsyncIterable(x: unknown): x is AsyncIterable<Uint8Array> {
  return typeof x === 'object' && x !== null && Symbol.asyncIterator in x;
}

/** multipart/form-data around a stream, written as it is read: the file is never held whole in memory. */
async function* multipartStream(boundary: string, fields: Record<string, string>, name: string, type: string, data: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  const enc = new TextEncoder();
  for (const [k, v] of Object.entries(fields)) yield enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
  yield enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${name.replace(/["\r\n]/g, '_')}"\r\nContent-Type: ${type}\r\n\r\n`);
  for await (const chunk of data) yield chunk;
  yield enc.encode(`\r\n--${boundary}--\r\n`);
}

/** POST /api/v1/files; resolves with the stored file's metadata (its `id` goes into image/file/voice/video bodies as `fileId`). */
export async function uploadFile(api: FileApi, data: UploadData, opts: UploadOptions = {}): Promise<FileInfo> {
  const name = opts.name ?? 'file';
  const type = opts.type ?? 'application/octet-stream';
  const fields: Record<string, string> = opts.convId ? { convId: opts.convId } : {};
  const headers: Record<string, string> = { authorization: `Bearer ${api.token}` };
  let body: FormData | AsyncIterable<Uint8Array>;
  if (isAsyncIterable(data)) {
    const boundary = `infra${Math.random().toString(36).slice(2)}${Date.now().toString(36)}`;
    headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
    body = multipartStream(boundary, fields, name, type, data);
  } else {
    const form = new FormData();
    for (const [k, v] of Object.entries(fields)) form.append(k, v);
    form.append('file', data instanceof Blob ? data : new Blob([data], { type }), name);
    body = form;
  }
  // duplex: a streamed request body (Node's fetch requires it; browsers ignore it)
  const res = await fetch(`${api.apiUrl}/files`, { method: 'POST', headers, body: body as RequestInit["body"], duplex: 'half' } as RequestInit);
  if (!res.ok) return api.fail(res);
  let info = (await res.json()) as FileInfo;
  if (opts.wait === false) return info;
  const until = Date.now() + (opts.waitTimeoutMs ?? 30_000);
  while (info.status === 'processing' && Date.now() < until) {
    await sleep(150);
    const r = await fetch(`${api.apiUrl}/files/${info.id}`, { headers: { authorization: `Bearer ${api.token}` } });
    if (!r.ok) return api.fail(r);
    info = (await r.json()) as FileInfo;
  }
  return info;
}
