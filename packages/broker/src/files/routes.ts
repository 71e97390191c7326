import { createReadStream } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import multipart from '@fastify/multipart';
import { InfraError, type TokenClaims } from '@infra/core';
import { CreatePackBody, FileInfoSchema, FileParams, PackParams, StickerPackList, StickerPackSchema, StickerQuery, UploadQuery } from './schema.js';
import type { FileService, UploadInput, Variant } from './service.js';
import type { StickerService } from './stickers.js';

function callerOf(request: FastifyRequest): TokenClaims {
  const user = (request as unknown as { user?: TokenClaims }).user;
  if (!user) throw new InfraError('INFRA_ERR_UNAUTHORIZED', 'missing bearer token');
  return user;
}

/**
 * Reads the one file part of a multipart request and hands it to `accept` while it streams. A `convId` (or `name`)
 * field before the file part counts; everything after the first file part (fields, more files) is ignored.
 */
async function withFilePart<T>(request: FastifyRequest, accept: (input: UploadInput, fields: Record<string, string>) => Promise<T>): Promise<T> {
  if (!request.isMultipart()) throw new InfraError('INFRA_ERR_FILE_BAD_UPLOAD', 'send multipart/form-data with one file part');
  const fields: Record<string, string> = {};
  let result: { value: T } | undefined;
  try {
    for await (const part of request.parts()) {
      if (part.type === 'field') {
        if (typeof part.value === 'string') fields[part.fieldname] = part.value;
        continue;
      }
      if (result) {
        part.file.resume();
        continue;
      }
      const file = part.file as typeof part.file & { truncated?: boolean };
      result = { value: await accept({ stream: file, filename: part.filename, declaredType: part.mimetype, truncated: () => file.truncated === true }, fields) };
    }
  } catch (err) {
    // let the rest of a cut-off upload arrive (busboy drops it) so the client reads the 413 instead of a reset
    if (err instanceof InfraError && err.code === 'INFRA_ERR_FILE_TOO_LARGE') await requestEnded(request.raw, 5000);
    const code = (err as { code?: string }).code;
    // the file is stored: parts after it (a second file, more fields) are ignored, as documented
    if (result && (code === 'FST_FILES_LIMIT' || code === 'FST_PARTS_LIMIT' || code === 'FST_FIELDS_LIMIT')) return result.value;
    // a file cut at files.maxBytes was already refused (and removed) by accept(); this is the parser saying the same
    if (code === 'FST_REQ_FILE_TOO_LARGE') throw new InfraError('INFRA_ERR_FILE_TOO_LARGE', 'the file is larger than files.maxBytes');
    if (typeof code === 'string' && code.startsWith('FST_')) throw new InfraError('INFRA_ERR_FILE_BAD_UPLOAD', (err as Error).message);
    throw err;
  }
  if (!result) throw new InfraError('INFRA_ERR_FILE_BAD_UPLOAD', 'the request has no file part');
  return result.value;
}

function requestEnded(req: IncomingMessage, ms: number): Promise<void> {
  if (req.complete || req.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(done, ms);
    req.once('end', done).once('close', done);
  });
}

/** One `Range: bytes=a-b` (or `a-`, `-n`); several ranges or another unit get the whole file. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'whole' | 'unsatisfiable' {
  if (!header) return 'whole';
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return 'whole';
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') return 'unsatisfiable';
  if (a === '') {
    const n = Number(b);
    return n === 0 || size === 0 ? 'unsatisfiable' : { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  return start >= size || start > end ? 'unsatisfiable' : { start, end };
}

async function sendFile(request: FastifyRequest, reply: FastifyReply, file: { path: string; mime: string; size: number; name: string }, inline: boolean): Promise<FastifyReply> {
  const range = parseRange(request.headers.range, file.size);
  void reply
    .header('accept-ranges', 'bytes')
    .header('x-content-type-options', 'nosniff')
    .header('cache-control', 'private, max-age=86400')
    .header('content-disposition', `${inline ? 'inline' : 'attachment'}; filename*=UTF-8''${encodeURIComponent(file.name)}`);
  if (range === 'unsatisfiable') {
    void reply.header('content-range', `bytes */${file.size}`);
    throw new InfraError('INFRA_ERR_FILE_RANGE', `range ${request.headers.range ?? ''} is outside the ${file.size} bytes`);
  }
  if (range === 'whole') return reply.type(file.mime).header('content-length', file.size).send(createReadStream(file.path));
  return reply
    .code(206)
    .type(file.mime)
    .header('content-range', `bytes ${range.start}-${range.end}/${file.size}`)
    .header('content-length', range.end - range.start + 1)
    .send(createReadStream(file.path, { start: range.start, end: range.end }));
}

const tags = ['files'];
const MULTIPART_SLACK = 64 * 1024;
const backends = ['admin', 'service'] as const;

/** /api/v1/files/… (uploads, metadata, bytes, derivatives) and /api/v1/stickers/… (packs). */
export function filesRoutes(files: FileService, stickers: StickerService): FastifyPluginAsync {
  return async (app) => {
    // scoped to this plugin: other pillars' routes do not accept multipart
    await app.register(multipart, { limits: { fileSize: files.settings.maxBytes, files: 1, fields: 8, parts: 9, fieldSize: 1024 } });
    const r = app.withTypeProvider<TypeBoxTypeProvider>();

    // a body announcing more than the limit allows (plus multipart framing) is refused before it is read
    app.addHook('preHandler', async (request) => {
      const declared = Number(request.headers['content-length'] ?? NaN);
      if (request.method === 'POST' && declared > files.settings.maxBytes + MULTIPART_SLACK) throw new InfraError('INFRA_ERR_FILE_TOO_LARGE', `the body of ${declared} bytes is larger than files.maxBytes (${files.settings.maxBytes})`);
    });
    r.post('/files', {
      schema: { tags, summary: 'Upload one file (multipart/form-data, field `file`; optional `convId` in the query or a field before the file). The type is sniffed from the bytes.', consumes: ['multipart/form-data'], querystring: UploadQuery, response: { 201: FileInfoSchema } },
    }, async (request, reply) => {
      const caller = callerOf(request);
      const info = await withFilePart(request, (input, fields) => {
        const convId = request.query.convId ?? fields['convId'];
        return files.upload(caller, { ...input, ...(convId !== undefined ? { convId } : {}) });
      });
      return reply.code(201).send(info);
    });
    r.get('/files/:fileId', {
      schema: { tags, summary: 'Metadata of a file, with the status of its derivatives (uploader, members of its conversations, backends)', params: FileParams, response: { 200: FileInfoSchema } },
    }, async (request) => files.info(callerOf(request), request.params.fileId));
    const bytes = (variant: Variant, summary: string): void => {
      r.get(`/files/:fileId/${variant}`, { schema: { tags, summary, params: FileParams } }, async (request, reply) => {
        const file = await files.open(callerOf(request), request.params.fileId, variant);
        return sendFile(request, reply, file, variant !== 'content' || /^(image|video|audio)\//.test(file.mime));
      });
    };
    bytes('content', 'The bytes, with the sniffed content type; Range supported');
    bytes('thumbnail', 'JPEG thumbnail of an image or cover frame of a video');
    bytes('audio', 'AAC (m4a) transcode of an audio file');

    r.post('/stickers/packs', {
      config: { roles: backends },
      schema: { tags: ['stickers'], summary: 'Create a sticker pack (admin, service)', body: CreatePackBody, response: { 201: StickerPackSchema } },
    }, async (request, reply) => reply.code(201).send(await stickers.createPack(callerOf(request), request.body.name)));
    r.post('/stickers/packs/:packId/stickers', {
      config: { roles: backends },
      schema: { tags: ['stickers'], summary: 'Add a sticker image to a pack (multipart, admin, service)', consumes: ['multipart/form-data'], params: PackParams, querystring: StickerQuery, response: { 201: StickerPackSchema } },
    }, async (request, reply) => {
      const caller = callerOf(request);
      const pack = await withFilePart(request, (input, fields) => stickers.addSticker(caller, request.params.packId, input, request.query.name ?? fields['name']));
      return reply.code(201).send(pack);
    });
    r.get('/stickers/packs', {
      schema: { tags: ['stickers'], summary: 'Every sticker pack with its stickers', response: { 200: StickerPackList } },
    }, async () => ({ packs: await stickers.packs() }));
    r.get('/stickers/packs/:packId', {
      schema: { tags: ['stickers'], summary: 'One sticker pack', params: PackParams, response: { 200: StickerPackSchema } },
    }, async (request) => stickers.pack(request.params.packId));
  };
}
