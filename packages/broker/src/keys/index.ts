import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { InfraError, type ModuleMigrations, type TokenClaims } from '@infra/core';
import { init } from './migrations/0001_init.js';

export const keyMigrations: ModuleMigrations = { module: 'keys', migrations: { '0001_init': init } };

export interface KeyTables {
  im_public_keys: { user_id: string; public_key: string; updated_at: number };
}

const PublicKey = Type.String({ pattern: '^[A-Za-z0-9_-]{43}$', description: 'X25519 public key, 32 bytes base64url (no padding)' });
const PutKeyBody = Type.Object({ publicKey: PublicKey }, { additionalProperties: false });
const KeyReply = Type.Object({ userId: Type.String(), publicKey: PublicKey, updatedAt: Type.String({ format: 'date-time' }) });
const UserParams = Type.Object({ userId: Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' }) });
type KeyReply = Static<typeof KeyReply>;

function callerOf(request: FastifyRequest): TokenClaims {
  const user = (request as unknown as { user?: TokenClaims }).user;
  if (!user) throw new InfraError('INFRA_ERR_UNAUTHORIZED', 'missing bearer token');
  return user;
}

/**
 * The public-key directory of end-to-end encryption: a user publishes their own X25519 public key; members of a
 * conversation with them (and backends) read it. Only public keys pass through the server.
 */
export class KeyDirectory {
  constructor(
    private readonly db: Kysely<KeyTables>,
    /** whether two users share a conversation (who may read whose key) */
    private readonly shareConversation: (a: string, b: string) => Promise<boolean>,
    private readonly now: () => number = Date.now,
  ) {}

  async put(caller: TokenClaims, publicKey: string): Promise<KeyReply> {
    const at = this.now();
    await this.db
      .insertInto('im_public_keys')
      .values({ user_id: caller.sub, public_key: publicKey, updated_at: at })
      .onConflict((oc) => oc.column('user_id').doUpdateSet({ public_key: publicKey, updated_at: at }))
      .execute();
    return { userId: caller.sub, publicKey, updatedAt: new Date(at).toISOString() };
  }

  /** Someone outside the user's conversations gets the same 404 as for a user without a key (no existence leak). */
  async get(caller: TokenClaims, userId: string): Promise<KeyReply> {
    const mayRead = caller.sub === userId || caller.role === 'service' || caller.role === 'admin' || (await this.shareConversation(caller.sub, userId));
    const row = mayRead ? await this.db.selectFrom('im_public_keys').selectAll().where('user_id', '=', userId).executeTakeFirst() : undefined;
    if (!row) throw new InfraError('INFRA_ERR_NOT_FOUND', `no public key of ${userId} for you`);
    return { userId: row.user_id, publicKey: row.public_key, updatedAt: new Date(row.updated_at).toISOString() };
  }

  routes(): FastifyPluginAsync {
    return async (app) => {
      const r = app.withTypeProvider<TypeBoxTypeProvider>();
      const tags = ['im'];
      r.put('/im/keys', {
        schema: { tags, summary: 'Publish the caller’s X25519 public key (end-to-end encryption of direct messages)', body: PutKeyBody, response: { 200: KeyReply } },
      }, async (request) => this.put(callerOf(request), request.body.publicKey));
      r.get('/im/keys/:userId', {
        schema: { tags, summary: 'A user’s public key (yourself, people you share a conversation with, backends)', params: UserParams, response: { 200: KeyReply } },
      }, async (request) => this.get(callerOf(request), request.params.userId));
    };
  }
}
