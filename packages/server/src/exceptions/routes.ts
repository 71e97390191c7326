import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AssignBody, CommentBody, ExceptionList, ExceptionView, IdParams, ListQuery, RaiseBody, ResolveBody } from './schema.js';
import type { ExceptionService } from './service.js';

const staff = { roles: ['admin', 'service'] as const };
const tags = ['exceptions'];

export function exceptionRoutes(service: ExceptionService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.get('/exceptions', { config: staff, schema: { tags, summary: 'List exceptions (newest first), filtered by status, type, entity', querystring: ListQuery, response: { 200: ExceptionList } } },
      async (req) => service.list(req.query));
    r.post('/exceptions', { config: staff, schema: { tags, summary: 'Raise an exception by hand', body: RaiseBody, response: { 201: ExceptionView } } },
      async (req, reply) => reply.code(201).send(await service.raiseManual(req.body)));
    r.get('/exceptions/:id', { config: staff, schema: { tags, summary: 'One exception with its comments', params: IdParams, response: { 200: ExceptionView } } },
      async (req) => service.get(req.params.id));
    r.post('/exceptions/:id/assign', { config: staff, schema: { tags, summary: 'Assign to a person', params: IdParams, body: AssignBody, response: { 200: ExceptionView } } },
      async (req) => service.assign(req.params.id, req.body.assignee));
    r.post('/exceptions/:id/comments', { config: staff, schema: { tags, summary: 'Add a comment', params: IdParams, body: CommentBody, response: { 200: ExceptionView } } },
      async (req) => service.comment(req.params.id, req.user!.sub, req.body.body));
    r.post('/exceptions/:id/resolve', { config: staff, schema: { tags, summary: 'Resolve with an action (retry, cancel, refund, reship, none); cancel on an order exception cancels the order', params: IdParams, body: ResolveBody, response: { 200: ExceptionView } } },
      async (req) => service.resolve(req.params.id, req.body, { id: req.user!.sub, role: req.user!.role }));
  };
}
