import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { MintTokenBody, TokenReply, WhoAmIReply } from './schema.js';
import type { AuthService } from './service.js';

export function authRoutes(service: AuthService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.post('/auth/tokens', {
      config: { roles: ['admin'] },
      schema: { tags: ['auth'], summary: 'Mint a token for a user id and role (admin only)', body: MintTokenBody, response: { 201: TokenReply } },
    }, async (request, reply) => reply.code(201).send(await service.mint(request.body.user, request.body.role, request.body.ttl, request.body.merchant)));

    r.get('/auth/whoami', {
      schema: { tags: ['auth'], summary: 'The caller’s user id, role and token expiry', response: { 200: WhoAmIReply } },
    }, async (request) => service.whoami(request.user!));
  };
}
