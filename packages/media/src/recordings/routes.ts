import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { OPERATORS, VIEWERS } from '../http/roles.js';
import { AssetIdParam, AssetList, AssetQuery, AssetReply } from './schema.js';
import type { RecordingService } from './service.js';

export function recordingRoutes(service: RecordingService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get('/media/assets', {
      config: { roles: VIEWERS },
      schema: { tags: ['media'], summary: 'VOD assets (recorded live sessions), newest first, with duration and size', querystring: AssetQuery, response: { 200: AssetList } },
    }, async (request) => ({ assets: await service.list(request.query) }));

    r.get('/media/assets/:assetId', {
      config: { roles: VIEWERS },
      schema: { tags: ['media'], summary: 'One VOD asset', params: AssetIdParam, response: { 200: AssetReply } },
    }, async (request) => service.get(request.params.assetId));

    r.delete('/media/assets/:assetId', {
      config: { roles: OPERATORS },
      schema: { tags: ['media'], summary: 'Delete a VOD asset and its files', params: AssetIdParam },
    }, async (request, reply) => {
      await service.remove(request.params.assetId);
      return reply.code(204).send();
    });
  };
}
