import type { FastifyPluginAsync } from 'fastify';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import { Type } from '@sinclair/typebox';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { InfraError } from '@infra/core';
import { LiveFileCache } from './live-cache.js';
import './roles.js';

const LIVE_FILE = /^(master\.m3u8|cover\.jpg|\d{1,2}\/index\.m3u8|\d{1,2}\/seg_\d{5,9}\.ts)$/;
const VOD_FILE = /^(index\.mp4|poster\.jpg)$/;

const CONTENT_TYPES: Record<string, string> = { m3u8: 'application/vnd.apple.mpegurl', ts: 'video/mp2t', jpg: 'image/jpeg' };

/** Playlists change every segment: a CDN edge may cache them a second. Segments, once written, never change. */
function cacheControlOf(file: string): string {
  if (file.endsWith('.m3u8')) return 'public, max-age=1';
  if (file.endsWith('.ts') || file.endsWith('.mp4')) return 'public, max-age=86400, immutable';
  return 'public, max-age=2';
}

/**
 * HLS (/live/{streamId}/…) and VOD (/vod/{assetId}/…) files, by stream id and asset id only: the
 * publish key never appears in a playback URL. Public like a CDN: anyone with the id can watch.
 */
export function fileRoutes(dirs: {
  liveDir: string;
  vodDir: string;
  mayPlay?: (streamId: string, token: string | undefined) => Promise<boolean>;
  /** a playlist was served to this client (viewer counts) */
  onPlaylist?: (streamId: string, client: string) => void;
}): FastifyPluginAsync {
  return async (app) => {
    await app.register(fastifyStatic, { root: dirs.liveDir, serve: false });
    const cache = new LiveFileCache();
    const r = app.withTypeProvider<TypeBoxTypeProvider>();

    r.get('/live/:streamId/*', {
      config: { public: true },
      schema: { tags: ['media'], summary: 'Live HLS: master.m3u8, {rendition}/index.m3u8, {rendition}/seg_N.ts, cover.jpg', security: [], params: Type.Object({ streamId: Type.String({ pattern: '^st_[0-9a-z]{26}$' }), '*': Type.String() }) },
    }, async (request, reply) => {
      // private streams: /live/{streamId}/t/{token}/… (in the path, so the playlists' relative URIs keep it)
      const m = /^t\/([0-9]{1,12}\.[A-Za-z0-9_-]{32})\/(.*)$/.exec(request.params['*']);
      const file = m ? m[2]! : request.params['*'];
      if (!LIVE_FILE.test(file)) return reply.callNotFound();
      if (dirs.mayPlay && !(await dirs.mayPlay(request.params.streamId, m?.[1]))) {
        throw new InfraError('INFRA_ERR_FORBIDDEN', `stream ${request.params.streamId} is private: use a playback token URL`);
      }
      // the file name passed LIVE_FILE and the id its pattern: the path stays inside liveDir
      const rel = `${request.params.streamId}/${file}`;
      const cached = cache.get(join(dirs.liveDir, rel));
      if (!cached) return reply.callNotFound();
      reply.header('cache-control', m ? cacheControlOf(file).replace('public', 'private') : cacheControlOf(file));
      if (file.endsWith('.m3u8')) dirs.onPlaylist?.(request.params.streamId, `${request.ip}|${request.headers['user-agent'] ?? ''}`);
      // from memory, unless the client asks for a byte range or the file is too large to keep
      if (cached === 'large' || request.headers.range !== undefined) {
        if (file.endsWith('.m3u8')) reply.header('content-type', CONTENT_TYPES['m3u8']);
        return reply.sendFile(rel, dirs.liveDir, { cacheControl: false });
      }
      reply.header('etag', cached.etag).header('last-modified', cached.lastModified).header('content-type', CONTENT_TYPES[file.slice(file.lastIndexOf('.') + 1)]!);
      if (request.headers['if-none-match'] === cached.etag) return reply.code(304).send();
      return reply.send(cached.body);
    });

    r.get('/vod/:assetId/*', {
      config: { public: true },
      schema: { tags: ['media'], summary: 'VOD: index.mp4 (faststart, range requests) and poster.jpg', security: [], params: Type.Object({ assetId: Type.String({ pattern: '^vod_[0-9a-z]{26}$' }), '*': Type.String() }) },
    }, async (request, reply) => {
      const file = request.params['*'];
      if (!VOD_FILE.test(file) || !existsSync(join(dirs.vodDir, request.params.assetId, file))) return reply.callNotFound();
      reply.header('cache-control', cacheControlOf(file));
      return reply.sendFile(`${request.params.assetId}/${file}`, dirs.vodDir, { cacheControl: false });
    });
  };
}
