import { createWriteStream } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { fileTypeFromFile } from 'file-type';
import { InfraError, newId, type Logger, type TokenClaims } from '@infra/core';
import type { FileInfo, FileKind, MessageType } from '@infra/core/topics';
import type { MessageReferences } from '../im/service.js';
import type { DerivativeQueue, FilePaths } from './derive.js';
import { FileStore, type FileRow } from './store.js';

export interface FileSettings {
  maxBytes: number;
  allowedTypes: string[];
  thumbnailPx: number;
  ffmpegConcurrency: number;
  processTimeoutMs: number;
}

/** One multipart file part, as the route hands it over: the bytes are streamed, never buffered whole. */
export interface UploadInput {
  stream: Readable;
  filename: string;
  /** the Content-Type the client claimed for the part */
  declaredType: string;
  convId?: string;
  /** true when the part was cut at files.maxBytes */
  truncated(): boolean;
}

export type Variant = 'content' | 'thumbnail' | 'audio';

/** membership lookup of the IM module: may this user read this conversation? */
export type IsMember = (convId: string, userId: string) => Promise<boolean>;

const isBackend = (c: TokenClaims): boolean => c.role === 'service' || c.role === 'admin';
const iso = (ms: number): string => new Date(ms).toISOString();
export const FILES_PATH = '/api/v1/files';

// Names clients commonly send for the same content type; anything else must equal the sniffed type.
const ALIASES: Record<string, string> = {
  'image/jpg': 'image/jpeg', 'image/pjpeg': 'image/jpeg', 'audio/x-wav': 'audio/wav', 'audio/wave': 'audio/wav', 'audio/vnd.wave': 'audio/wav',
  'audio/mp4': 'audio/x-m4a', 'audio/m4a': 'audio/x-m4a', 'audio/mp3': 'audio/mpeg', 'audio/x-mp3': 'audio/mpeg', 'application/x-zip-compressed': 'application/zip',
};
const normalise = (t: string): string => {
  const essence = t.split(';')[0]?.trim().toLowerCase() ?? '';
  return ALIASES[essence] ?? essence;
};

function kindOf(mime: string): FileKind {
  if (mime.startsWith('image/')) return 'image';
  if (mime.startsWith('video/')) return 'video';
  if (mime.startsWith('audio/')) return 'audio';
  return 'file';
}

function safeName(filename: string): string {
  // eslint-disable-next-line no-control-regex
  const name = basename(filename.replace(/\\/g, '/')).replace(/[\u0000-\u001f\u007f"]/g, '').trim().slice(0, 255);
  return name || 'file';
}

export function fileView(row: FileRow): FileInfo {
  const url = `${FILES_PATH}/${row.id}`;
  return {
    id: row.id,
    kind: row.kind,
    mime: row.mime,
    size: row.size,
    name: row.name,
    status: row.status,
    ...(row.conv_id !== null ? { convId: row.conv_id } : {}),
    uploaderId: row.uploader_id,
    createdAt: iso(row.created_at),
    url: `${url}/content`,
    ...(row.has_thumbnail ? { thumbnailUrl: `${url}/thumbnail` } : {}),
    ...(row.has_audio ? { audioUrl: `${url}/audio` } : {}),
    ...(row.width !== null ? { width: row.width } : {}),
    ...(row.height !== null ? { height: row.height } : {}),
    ...(row.duration_ms !== null ? { durationMs: row.duration_ms } : {}),
    ...(row.error !== null ? { error: row.error } : {}),
  };
}

/** The file kind each message type carries (`file` carries any). */
const KIND_OF_MESSAGE: Partial<Record<MessageType, FileKind>> = { image: 'image', video: 'video', voice: 'audio' };

/** Uploads (sniffed, size-limited, streamed to disk), authorised reads, and the file side of IM messages. No HTTP, no SQL strings. */
export class FileService {
  constructor(
    private readonly store: FileStore,
    readonly settings: FileSettings,
    private readonly paths: FilePaths,
    private readonly derivatives: DerivativeQueue,
    private readonly isMember: IsMember,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Files left `processing` by a stop are processed again. */
  async resume(): Promise<void> {
    for (const row of await this.store.processing()) this.derivatives.enqueue(row);
  }

  async upload(caller: TokenClaims, input: UploadInput, opts: { public?: boolean; kinds?: FileKind[] } = {}): Promise<FileInfo> {
    if (input.convId !== undefined && !isBackend(caller) && !(await this.isMember(input.convId, caller.sub))) {
      input.stream.resume();
      throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${caller.sub} is not a member of ${input.convId}`);
    }
    const id = newId('file');
    const tmp = this.paths.tmp(`${id}.upload`);
    let mime: string;
    let size: number;
    try {
      await pipeline(input.stream, createWriteStream(tmp, { flags: 'wx' }));
      if (input.truncated()) throw new InfraError('INFRA_ERR_FILE_TOO_LARGE', `the file is larger than files.maxBytes (${this.settings.maxBytes})`);
      size = (await stat(tmp)).size;
      if (size === 0) throw new InfraError('INFRA_ERR_FILE_BAD_UPLOAD', 'the file is empty');
      const sniffed = await fileTypeFromFile(tmp);
      if (!sniffed) throw new InfraError('INFRA_ERR_FILE_TYPE', 'the bytes are of no recognisable type');
      mime = sniffed.mime;
      if (!this.allowed(mime)) throw new InfraError('INFRA_ERR_FILE_TYPE', `${mime} is not in files.allowedTypes`);
      const declared = normalise(input.declaredType);
      if (declared !== 'application/octet-stream' && declared !== '' && declared !== normalise(mime)) {
        throw new InfraError('INFRA_ERR_FILE_TYPE', `declared ${declared} but the bytes are ${mime}`);
      }
      if (opts.kinds && !opts.kinds.includes(kindOf(mime))) throw new InfraError('INFRA_ERR_FILE_KIND', `${mime} is not one of ${opts.kinds.join(', ')}`);
      await rename(tmp, this.paths.blob(id));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const kind = kindOf(mime);
    const row: FileRow = {
      id, uploader_id: caller.sub, conv_id: input.convId ?? null, kind, mime, size, name: safeName(input.filename),
      status: kind === 'file' ? 'ready' : 'processing', public: opts.public ? 1 : 0,
      width: null, height: null, duration_ms: null, has_thumbnail: 0, has_audio: 0, error: null, created_at: this.now(), processed_at: null,
    };
    try {
      await this.store.insert(row);
    } catch (err) {
      await rm(this.paths.blob(id), { force: true });
      throw err;
    }
    this.log.info({ fileId: id, kind, mime, size, uploader: caller.sub }, 'file stored');
    if (row.status === 'processing') this.derivatives.enqueue(row);
    return fileView(row);
  }

  async info(caller: TokenClaims, id: string): Promise<FileInfo> {
    return fileView(await this.readable(caller, id));
  }

  /** Where the bytes of a file (or of one of its derivatives) are, for a caller allowed to read them. */
  async open(caller: TokenClaims, id: string, variant: Variant): Promise<{ path: string; mime: string; size: number; name: string }> {
    const row = await this.readable(caller, id);
    if (variant === 'content') return { path: this.paths.blob(id), mime: row.mime, size: row.size, name: row.name };
    const present = variant === 'thumbnail' ? row.has_thumbnail : row.has_audio;
    if (!present) {
      if (row.status === 'processing') throw new InfraError('INFRA_ERR_FILE_NOT_READY', `${id} is still processing`);
      throw new InfraError('INFRA_ERR_FILE_NOT_FOUND', `${id} has no ${variant}`);
    }
    const path = variant === 'thumbnail' ? this.paths.thumbnail(id) : this.paths.audio(id);
    const stem = row.name.replace(/\.[^.]*$/, '');
    return { path, mime: variant === 'thumbnail' ? 'image/jpeg' : 'audio/mp4', size: (await stat(path)).size, name: `${stem}.${variant === 'thumbnail' ? 'jpg' : 'm4a'}` };
  }

  /** A file the caller uploaded (or any, for backends), of one of `kinds`: sticker images. */
  async own(caller: TokenClaims, id: string): Promise<FileRow> {
    const row = await this.store.file(id);
    if (!row || (row.uploader_id !== caller.sub && !isBackend(caller))) throw new InfraError('INFRA_ERR_FILE_NOT_FOUND', `no file ${id} of yours`);
    return row;
  }

  /**
   * The file side of im/send: an image/file/voice/video body with a fileId must name a file the sender uploaded,
   * of the right kind and processed; the stored body gets the server's facts (URLs, size, duration, dimensions).
   * Bodies with an external `url` instead pass unchanged. A file sent to a conversation becomes readable by its members.
   */
  messageReferences(stickers: { resolve(body: Record<string, unknown>): Promise<Record<string, unknown>> }): MessageReferences {
    return {
      types: ['image', 'file', 'voice', 'video', 'sticker'],
      resolve: async (caller, _convId, type, body) => {
        if (type === 'sticker') return stickers.resolve(body);
        const fileId = body['fileId'];
        if (typeof fileId !== 'string') return body;
        const row = await this.own(caller, fileId);
        const need = KIND_OF_MESSAGE[type];
        if (need && row.kind !== need) throw new InfraError('INFRA_ERR_FILE_KIND', `a ${type} message needs a file of kind ${need}; ${fileId} is ${row.kind}`);
        if (need && row.status !== 'ready') throw new InfraError('INFRA_ERR_FILE_NOT_READY', `${fileId} is ${row.status}${row.error ? `: ${row.error}` : ''}`);
        return { ...(type === 'file' ? { name: row.name } : {}), ...body, ...mediaBody(type, row) };
      },
      attach: async (db, convId, type, body) => {
        const fileId = body['fileId'];
        if (type !== 'sticker' && typeof fileId === 'string') await FileStore.over(db).attach(fileId, convId, this.now());
      },
    };
  }

  /** Uploader, backends, anyone for public files, members of the upload's or an attached conversation; else NOT_FOUND (existence is not leaked). */
  private async readable(caller: TokenClaims, id: string): Promise<FileRow> {
    const row = await this.store.file(id);
    const missing = new InfraError('INFRA_ERR_FILE_NOT_FOUND', `no file ${id}`);
    if (!row) throw missing;
    if (row.uploader_id === caller.sub || isBackend(caller) || row.public === 1) return row;
    const convs = new Set([...(row.conv_id !== null ? [row.conv_id] : []), ...(await this.store.attachedTo(id))]);
    for (const convId of convs) if (await this.isMember(convId, caller.sub)) return row;
    throw missing;
  }

  private allowed(mime: string): boolean {
    return this.settings.allowedTypes.some((t) => t === mime || (t.endsWith('/*') && mime.startsWith(t.slice(0, -1))));
  }
}

function mediaBody(type: MessageType, row: FileRow): Record<string, unknown> {
  const v = fileView(row);
  const dims = { ...(v.width !== undefined ? { width: v.width } : {}), ...(v.height !== undefined ? { height: v.height } : {}) };
  switch (type) {
    case 'image':
      return { fileId: row.id, url: v.url, mime: row.mime, size: row.size, ...dims, ...(v.thumbnailUrl ? { thumbUrl: v.thumbnailUrl } : {}) };
    case 'video':
      return { fileId: row.id, url: v.url, mime: row.mime, size: row.size, ...dims, ...(v.durationMs ? { durationMs: v.durationMs } : {}), ...(v.thumbnailUrl ? { coverUrl: v.thumbnailUrl } : {}) };
    case 'voice':
      // the AAC transcode plays everywhere; the original stays at /content
      return { fileId: row.id, url: v.audioUrl ?? v.url, mime: v.audioUrl ? 'audio/mp4' : row.mime, durationMs: v.durationMs ?? 1, originalUrl: v.url, size: row.size };
    default:
      return { fileId: row.id, url: v.url, mime: row.mime, size: row.size };
  }
}
