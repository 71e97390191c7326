import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { OPERATORS } from '../http/roles.js';
import { originsOf } from '../http/origins.js';
import { CreateStreamBody, PlaybackTokenBody, PlaybackTokenReply, RotateKeyBody, StreamEventList, StreamIdParam, StreamKeyReply, StreamList, StreamReply } from './schema.js';
import type { StreamService } from './service.js';

export interface MediaPorts {
  publicUrl: string;
  ports: () => { rtmpPort: number; flvPort: number };
}

export function streamRoutes(service: StreamService, where: MediaPorts): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const origins = (request: Parameters<typeof originsOf>[0]) => originsOf(request, where.publicUrl, where.ports());

    r.post('/media/streams', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'Create a stream; the reply carries its RTMP server, stream key (shown once) and playback URLs', body: CreateStreamBody, response: { 201: StreamKeyReply } },
    }, async (request, reply) => reply.code(201).send(await service.create(request.body.name, request.body.ttl, origins(request), request.body.private ?? false)));

    r.post('/media/streams/:streamId/playback-token', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'A signed playback token (needed to watch a private stream) and the URLs that carry it', params: StreamIdParam, body: Type.Optional(PlaybackTokenBody), response: { 201: PlaybackTokenReply } },
    }, async (request, reply) => reply.code(201).send(await service.playbackToken(request.params.streamId, request.body?.ttl, origins(request))));

    r.get('/media/streams', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'List streams (newest first)', querystring: Type.Object({ limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) }, { additionalProperties: false }), response: { 200: StreamList } },
    }, async (request) => ({ streams: await service.list(origins(request), request.query.limit) }));

    r.get('/media/streams/:streamId', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'One stream', params: StreamIdParam, response: { 200: StreamReply } },
    }, async (request) => service.get(request.params.streamId, origins(request)));

    r.post('/media/streams/:streamId/key', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'Rotate the stream key: a new key is returned, the old one stops working', params: StreamIdParam, body: Type.Optional(RotateKeyBody), response: { 201: StreamKeyReply } },
    }, async (request, reply) => reply.code(201).send(await service.rotateKey(request.params.streamId, request.body?.ttl, origins(request))));

    r.delete('/media/streams/:streamId/key', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'Revoke the stream key: new publishes are refused (a live publish continues until it ends)', params: StreamIdParam, response: { 200: StreamReply } },
    }, async (request) => service.revokeKey(request.params.streamId, origins(request)));

    r.get('/media/streams/:streamId/events', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'Stored state events (live, ended), newest first', params: StreamIdParam, response: { 200: StreamEventList } },
    }, async (request) => ({ events: await service.events(request.params.streamId) }));
  };
}
