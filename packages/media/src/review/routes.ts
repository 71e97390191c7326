import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { InfraError } from '@infra/core';
import { OPERATORS } from '../http/roles.js';
import { CutBody, StreamIdParam } from '../streams/schema.js';
import { DecisionBody, ReviewItem, ReviewItemParam, ReviewList, ReviewQuery } from './schema.js';
import type { ReviewService } from './service.js';

/** The operator the gateway verified (request.user, set by packages/server's auth hook). */
function actorOf(request: FastifyRequest): string {
  const actor = (request as unknown as { user?: { sub: string } }).user?.sub;
  if (!actor) throw new InfraError('INFRA_ERR_UNAUTHORIZED', 'moderation needs an authenticated operator');
  return actor;
}

export function reviewRoutes(service: ReviewService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.post('/media/streams/:streamId/cut', {
      config: { roles: OPERATORS },
      schema: {
        tags: ['media'], summary: 'Cut a live stream: the publisher is disconnected, its key revoked, viewers see the end; audited as a `cut` state event',
        params: StreamIdParam, body: CutBody, response: { 200: Type.Object({ streamId: Type.String(), wasLive: Type.Boolean() }) },
      },
    }, async (request) => service.cut(request.params.streamId, { actor: actorOf(request), reason: request.body.reason }));

    r.get('/media/review', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'The review queue: frames sampled from live streams, newest first', querystring: ReviewQuery, response: { 200: ReviewList } },
    }, async (request) => ({ items: await service.list(request.query) }));

    r.get('/media/review/:itemId/frame.jpg', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'The sampled frame (JPEG)', params: ReviewItemParam },
    }, async (request, reply) => reply.type('image/jpeg').send(await service.frame(request.params.itemId)));

    r.post('/media/review/:itemId', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'Decide a queued frame: approve, warn, or cut the stream (once per item)', params: ReviewItemParam, body: DecisionBody, response: { 200: ReviewItem } },
    }, async (request) => service.decide(request.params.itemId, request.body, actorOf(request)));
  };
}
