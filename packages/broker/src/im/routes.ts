import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { InfraError, type TokenClaims } from '@infra/core';
import { AddMembersBody, ClientSettings, Conversation, ConversationList, ConvParams, CreateConversationBody, HistoryQuery, HistoryReply, MemberList, MemberParams, MuteBody, ReadBody, SetRoleBody, SyncQuery, SyncReply } from './schema.js';
import type { ImService } from './service.js';

/** The gateway verifies the bearer token and sets request.user (packages/server gateway/auth.ts); every route here needs one. */
function callerOf(request: FastifyRequest): TokenClaims {
  const user = (request as unknown as { user?: TokenClaims }).user;
  if (!user) throw new InfraError('INFRA_ERR_UNAUTHORIZED', 'missing bearer token');
  return user;
}

const Done = Type.Object({ ok: Type.Literal(true) });
const ReadReply = Type.Object({ readSeq: Type.Integer(), unread: Type.Integer() });
const DeliveredReply = Type.Object({ deliveredSeq: Type.Integer() });
const tags = ['im'];

/** /api/v1/im/…: conversations, members, read receipts and sync. Messages themselves go over MQTT (im/send). */
export function imRoutes(service: ImService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.post('/im/conversations', {
      schema: { tags, summary: 'Create a conversation (direct: returns the existing one for the pair with 200)', body: CreateConversationBody, response: { 200: Conversation, 201: Conversation } },
    }, async (request, reply) => {
      const { conversation, created } = await service.create(callerOf(request), request.body);
      return reply.code(created ? 201 : 200).send(conversation);
    });
    r.get('/im/conversations', {
      schema: { tags, summary: 'The caller’s conversations with role, read mark and unread count', response: { 200: ConversationList } },
    }, async (request) => ({ conversations: await service.list(callerOf(request)) }));
    r.get('/im/conversations/:convId', {
      schema: { tags, summary: 'One conversation (members only)', params: ConvParams, response: { 200: Conversation } },
    }, async (request) => service.get(callerOf(request), request.params.convId));
    r.get('/im/conversations/:convId/members', {
      schema: { tags, summary: 'Members with roles and read marks (members only)', params: ConvParams, response: { 200: MemberList } },
    }, async (request) => ({ members: await service.members(callerOf(request), request.params.convId) }));
    r.post('/im/conversations/:convId/members', {
      schema: { tags, summary: 'Add members (owners, admins, backends)', params: ConvParams, body: AddMembersBody, response: { 200: Done } },
    }, async (request) => {
      await service.addMembers(callerOf(request), request.params.convId, request.body.userIds);
      return { ok: true as const };
    });
    r.delete('/im/conversations/:convId/members/:userId', {
      schema: { tags, summary: 'Remove (kick) a member (owners, admins, backends)', params: MemberParams, response: { 200: Done } },
    }, async (request) => {
      await service.removeMember(callerOf(request), request.params.convId, request.params.userId);
      return { ok: true as const };
    });
    r.put('/im/conversations/:convId/members/:userId/role', {
      schema: { tags, summary: 'Make a member admin or member (owner, backends)', params: MemberParams, body: SetRoleBody, response: { 200: Done } },
    }, async (request) => {
      await service.setRole(callerOf(request), request.params.convId, request.params.userId, request.body.role);
      return { ok: true as const };
    });
    r.put('/im/conversations/:convId/members/:userId/mute', {
      schema: { tags, summary: 'Mute or unmute a member: muted members read but cannot send (owners, admins, backends)', params: MemberParams, body: MuteBody, response: { 200: Done } },
    }, async (request) => {
      await service.setMuted(callerOf(request), request.params.convId, request.params.userId, request.body.muted);
      return { ok: true as const };
    });
    r.post('/im/conversations/:convId/join', {
      schema: { tags, summary: 'Join a channel', params: ConvParams, response: { 200: Done } },
    }, async (request) => {
      await service.join(callerOf(request), request.params.convId);
      return { ok: true as const };
    });
    r.post('/im/conversations/:convId/leave', {
      schema: { tags, summary: 'Leave a group, channel or temporary conversation', params: ConvParams, response: { 200: Done } },
    }, async (request) => {
      await service.leave(callerOf(request), request.params.convId);
      return { ok: true as const };
    });
    r.post('/im/conversations/:convId/delivered', {
      schema: { tags, summary: 'Delivery receipt: one of the caller’s devices received everything up to seq (the SDK sends it)', params: ConvParams, body: ReadBody, response: { 200: DeliveredReply } },
    }, async (request) => service.markDelivered(callerOf(request), request.params.convId, request.body.seq));
    r.post('/im/conversations/:convId/read', {
      schema: { tags, summary: 'Read receipt: everything up to seq is read', params: ConvParams, body: ReadBody, response: { 200: ReadReply } },
    }, async (request) => service.markRead(callerOf(request), request.params.convId, request.body.seq));
    r.get('/im/conversations/:convId/messages', {
      schema: { tags, summary: 'Scrollback: a page of history before a seq, oldest first (members since they joined; backends)', params: ConvParams, querystring: HistoryQuery, response: { 200: HistoryReply } },
    }, async (request) => service.history(callerOf(request), request.params.convId, request.query.before, request.query.limit));
    r.get('/im/settings', {
      schema: { tags, summary: 'What a device needs from the broker’s config: the keepalive to use (im.heartbeat) and the message limits', response: { 200: ClientSettings } },
    }, async (request) => {
      callerOf(request);
      return service.clientSettings();
    });
    r.get('/im/sync', {
      schema: { tags, summary: 'Messages after this device’s cursor, in order, across the caller’s conversations', querystring: SyncQuery, response: { 200: SyncReply } },
    }, async (request) => service.sync(callerOf(request), request.query.since, request.query.limit));
  };
}
