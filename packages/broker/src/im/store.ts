import type { BodyCipher } from './cipher.js';
import type { Kysely, Transaction } from 'kysely';
import { Prepared } from '@infra/core';
import type { ConversationKind, MemberRole } from '@infra/core/topics';

export interface ConversationRow {
  id: string;
  kind: ConversationKind;
  title: string | null;
  created_by: string;
  direct_key: string | null;
  last_seq: number;
  expires_at: number | null;
  created_at: number;
}

export interface MemberRow {
  conv_id: string;
  user_id: string;
  role: MemberRole;
  joined_seq: number;
  read_seq: number;
  /** highest seq any device of the member confirmed receiving (delivery receipt); never below read_seq */
  delivered_seq: number;
  muted: number;
  joined_at: number;
}

export interface MessageRow {
  id: number;
  conv_id: string;
  seq: number;
  sender_id: string;
  client_msg_id: string;
  type: string;
  /** the JSON body; at rest sealed by the data key `key_id` (see cipher.ts) */
  body: string;
  created_at: number;
  edited_at: number | null;
  recalled_at: number | null;
  key_id: string | null;
}

export interface ImTables {
  im_conversations: ConversationRow;
  im_members: MemberRow;
  im_messages: Omit<MessageRow, 'id'> & { id?: number };
}

type Db = Kysely<ImTables> | Transaction<ImTables>;

const MESSAGE_COLUMNS = ['conv_id', 'seq', 'sender_id', 'client_msg_id', 'type', 'body', 'created_at', 'edited_at', 'recalled_at', 'key_id'] as const;

/** What a sealed body is bound to (a body copied onto another row does not decrypt). */
const contextOf = (r: { conv_id: string; sender_id: string; client_msg_id: string }): string => `${r.conv_id}\n${r.sender_id}\n${r.client_msg_id}`;

type ClientIdKey = Pick<MessageRow, 'conv_id' | 'sender_id' | 'client_msg_id'>;

/** The statements every im/send runs, written once with Kysely (the dialect's own SQL, so it stays portable). */
const hot = {
  claimSeqs: new Prepared<ImTables, { n: number; id: string }>((db, p) =>
    db.updateTable('im_conversations').set((eb) => ({ last_seq: eb('last_seq', '+', p('n')) })).where('id', '=', p('id')).returning('last_seq')),
  releaseSeqs: new Prepared<ImTables, { used: number; id: string; last: number }>((db, p) =>
    db.updateTable('im_conversations').set({ last_seq: p('used') }).where('id', '=', p('id')).where('last_seq', '=', p('last'))),
  // a resend (same conversation, sender and client id) hits the dedup index and inserts nothing
  insertMessage: new Prepared<ImTables, Omit<MessageRow, 'id'>>((db, p) =>
    db.insertInto('im_messages').values(p.row(MESSAGE_COLUMNS)).onConflict((oc) => oc.columns(['conv_id', 'sender_id', 'client_msg_id']).doNothing()).returning('id')),
  messageByClientId: new Prepared<ImTables, ClientIdKey>((db, p) =>
    db.selectFrom('im_messages').selectAll().where('conv_id', '=', p('conv_id')).where('sender_id', '=', p('sender_id')).where('client_msg_id', '=', p('client_msg_id'))),
};

/** The SQLite handle under the store's Kysely (`OpenedDatabase.sqlite`): only what the send statements use. */
export interface SqliteHandle {
  prepare(sql: string): SqliteStatement;
}
interface SqliteStatement {
  get(...params: unknown[]): unknown;
  run(...params: unknown[]): { changes: number };
}

/**
 * The hot statements prepared once on the SQLite handle and run synchronously: a send batch runs one statement per
 * message, and each through Kysely's executor (a connection hand-over, promises, result plugins) cost about as much
 * as SQLite running it, plus the garbage of a dozen promises per message.
 */
class SendStatements {
  readonly claimSeqs: SqliteStatement;
  readonly releaseSeqs: SqliteStatement;
  readonly insertMessage: SqliteStatement;
  readonly messageByClientId: SqliteStatement;

  constructor(sqlite: SqliteHandle, db: Kysely<ImTables>) {
    // each checked to bind in the order the store passes its values
    this.claimSeqs = sqlite.prepare(hot.claimSeqs.positional(db, ['n', 'id']));
    this.releaseSeqs = sqlite.prepare(hot.releaseSeqs.positional(db, ['used', 'id', 'last']));
    this.insertMessage = sqlite.prepare(hot.insertMessage.positional(db, MESSAGE_COLUMNS));
    this.messageByClientId = sqlite.prepare(hot.messageByClientId.positional(db, ['conv_id', 'sender_id', 'client_msg_id']));
  }
}

/** SQL for the IM tables only. Portable: RETURNING and conditional updates, no SQLite-only functions. */
export class ImStore {
  private statements?: SendStatements;

  /**
   * `sqlite`: the handle under `db`, for the send statements (run only inside `transaction`, whose connection they
   * share). `cipher` seals message bodies at rest; without one (only code that builds the store itself) they are kept in clear.
   */
  constructor(readonly db: Kysely<ImTables>, private readonly sqlite: SqliteHandle, private readonly cipher?: BodyCipher, private readonly inTransaction = false) {}

  transaction<T>(fn: (tx: ImStore) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => {
      const store = new ImStore(tx as unknown as Kysely<ImTables>, this.sqlite, this.cipher, true);
      store.statements = this.send;
      return fn(store);
    });
  }

  /** the send statements, prepared on first use and shared with every transaction's store */
  private get send(): SendStatements {
    return (this.statements ??= new SendStatements(this.sqlite, this.db));
  }

  /** the send statements, only while this store's transaction holds the connection (they bypass Kysely's lock) */
  private get sending(): SendStatements {
    if (!this.inTransaction) throw new Error('the IM send statements run only inside ImStore.transaction');
    return this.send;
  }

  /** a row as read from SQL -> the row with its body in clear */
  private opened<R extends MessageRow | undefined>(r: R): R {
    if (!r || r.key_id === null) return r;
    if (!this.cipher) throw new Error(`message ${r.conv_id}#${r.seq} is encrypted and no data key is configured`);
    return { ...r, body: this.cipher.open(r.body, r.key_id, contextOf(r)) };
  }

  private sealed(body: string, r: { conv_id: string; sender_id: string; client_msg_id: string }): { body: string; key_id: string | null } {
    if (!this.cipher) return { body, key_id: null };
    const s = this.cipher.seal(body, contextOf(r));
    return { body: s.body, key_id: s.keyId };
  }

  private get q(): Db {
    return this.db;
  }

  async insertConversation(row: ConversationRow): Promise<void> {
    await this.q.insertInto('im_conversations').values(row).execute();
  }

  conversation(id: string): Promise<ConversationRow | undefined> {
    return this.q.selectFrom('im_conversations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  directByKey(key: string): Promise<ConversationRow | undefined> {
    return this.q.selectFrom('im_conversations').selectAll().where('direct_key', '=', key).executeTakeFirst();
  }

  async insertMember(row: MemberRow): Promise<void> {
    await this.q.insertInto('im_members').values(row).onConflict((oc) => oc.columns(['conv_id', 'user_id']).doNothing()).execute();
  }

  member(convId: string, userId: string): Promise<MemberRow | undefined> {
    return this.q.selectFrom('im_members').selectAll().where('conv_id', '=', convId).where('user_id', '=', userId).executeTakeFirst();
  }

  members(convId: string): Promise<MemberRow[]> {
    return this.q.selectFrom('im_members').selectAll().where('conv_id', '=', convId).orderBy('joined_at').orderBy('user_id').execute();
  }

  async memberIds(convId: string): Promise<string[]> {
    const rows = await this.q.selectFrom('im_members').select('user_id').where('conv_id', '=', convId).execute();
    return rows.map((r) => r.user_id);
  }

  async memberCount(convId: string): Promise<number> {
    const r = await this.q.selectFrom('im_members').select((eb) => eb.fn.countAll<number>().as('n')).where('conv_id', '=', convId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  async deleteMember(convId: string, userId: string): Promise<boolean> {
    const r = await this.q.deleteFrom('im_members').where('conv_id', '=', convId).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async setRole(convId: string, userId: string, role: MemberRole): Promise<boolean> {
    const r = await this.q.updateTable('im_members').set({ role }).where('conv_id', '=', convId).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async setMuted(convId: string, userId: string, muted: boolean): Promise<boolean> {
    const r = await this.q.updateTable('im_members').set({ muted: muted ? 1 : 0 }).where('conv_id', '=', convId).where('user_id', '=', userId).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Moves the delivery mark forward only (a late or repeated receipt changes nothing); true when it moved. */
  async advanceDelivered(convId: string, userId: string, seq: number): Promise<boolean> {
    const r = await this.q.updateTable('im_members').set({ delivered_seq: seq }).where('conv_id', '=', convId).where('user_id', '=', userId).where('delivered_seq', '<', seq).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Moves the read mark forward only (a late, smaller receipt changes nothing); true when it moved. */
  async advanceRead(convId: string, userId: string, seq: number): Promise<boolean> {
    const r = await this.q.updateTable('im_members').set({ read_seq: seq }).where('conv_id', '=', convId).where('user_id', '=', userId).where('read_seq', '<', seq).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** Conversations of a user with their unread count (messages after the read mark from others). */
  async conversationsOf(userId: string): Promise<(ConversationRow & { role: MemberRole; read_seq: number; unread: number })[]> {
    return this.q
      .selectFrom('im_members as m')
      .innerJoin('im_conversations as c', 'c.id', 'm.conv_id')
      .selectAll('c')
      .select(['m.role', 'm.read_seq'])
      .select((eb) =>
        eb
          .selectFrom('im_messages as x')
          .select((e) => e.fn.countAll<number>().as('n'))
          .whereRef('x.conv_id', '=', 'm.conv_id')
          .whereRef('x.seq', '>', 'm.read_seq')
          .where('x.sender_id', '!=', userId)
          .as('unread'),
      )
      .where('m.user_id', '=', userId)
      .orderBy('c.created_at')
      .execute() as Promise<(ConversationRow & { role: MemberRole; read_seq: number; unread: number })[]>;
  }

  /** Messages after `afterSeq` in one conversation sent by others than the user. */
  async unread(convId: string, userId: string, afterSeq: number): Promise<number> {
    const r = await this.q.selectFrom('im_messages').select((eb) => eb.fn.countAll<number>().as('n')).where('conv_id', '=', convId).where('seq', '>', afterSeq).where('sender_id', '!=', userId).executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Claims the next `n` seqs of a conversation (inside the messages' transaction); returns the last one claimed, undefined when there is no such conversation. */
  claimSeqs(convId: string, n: number): number | undefined {
    return (this.sending.claimSeqs.get(n, convId) as { last_seq: number } | undefined)?.last_seq;
  }

  /** Gives back the tail of a claim that was not used (refused or duplicate sends): last_seq goes from `claimedLast` to `usedLast`. */
  releaseSeqs(convId: string, claimedLast: number, usedLast: number): void {
    if (this.sending.releaseSeqs.run(usedLast, convId, claimedLast).changes !== 1) throw new Error(`conversation ${convId} changed its last seq during a send batch`);
  }

  /** Stores a message (inside a transaction); returns its id (the sync cursor), or undefined when the sender already sent this client id here. */
  insertMessage(input: Omit<MessageRow, 'id' | 'key_id'>): number | undefined {
    const { body, key_id } = this.sealed(input.body, input);
    // bound in MESSAGE_COLUMNS order (checked when the statement was compiled)
    const r = this.sending.insertMessage.get(input.conv_id, input.seq, input.sender_id, input.client_msg_id, input.type, body, input.created_at, input.edited_at, input.recalled_at, key_id) as { id: number } | undefined;
    return r?.id;
  }

  /** The message a sender sent with this client id (inside a transaction), body in clear. */
  messageByClientId(convId: string, senderId: string, clientMsgId: string): MessageRow | undefined {
    return this.opened(this.sending.messageByClientId.get(convId, senderId, clientMsgId) as MessageRow | undefined);
  }

  async messageBySeq(convId: string, seq: number): Promise<MessageRow | undefined> {
    return this.opened((await this.q.selectFrom('im_messages').selectAll().where('conv_id', '=', convId).where('seq', '=', seq).executeTakeFirst()) as MessageRow | undefined);
  }

  async markRecalled(convId: string, seq: number, at: number): Promise<boolean> {
    const r = await this.q.updateTable('im_messages').set({ recalled_at: at }).where('conv_id', '=', convId).where('seq', '=', seq).where('recalled_at', 'is', null).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  /** `target` is the edited message as read (its conv, sender and client id bind the new sealed body) */
  async markEdited(target: MessageRow, body: string, at: number): Promise<void> {
    await this.q.updateTable('im_messages').set({ ...this.sealed(body, target), edited_at: at }).where('conv_id', '=', target.conv_id).where('seq', '=', target.seq).execute();
  }

  /**
   * Re-seals up to `limit` bodies not sealed by the current key (older keys, or stored in clear) with it, in one
   * transaction; returns how many. Run until 0 after a key rotation, then the old key can leave INFRA_DATA_KEYS.
   */
  async rekey(limit: number): Promise<number> {
    const cipher = this.cipher;
    if (!cipher) return 0;
    return this.db.transaction().execute(async (trx) => {
      const rows = (await trx
        .selectFrom('im_messages')
        .selectAll()
        // three index ranges (not `!=`, which would scan): clear rows, and keys sorting before or after the current one
        .where((eb) => eb.or([eb('key_id', 'is', null), eb('key_id', '<', cipher.currentKeyId), eb('key_id', '>', cipher.currentKeyId)]))
        .limit(limit)
        .execute()) as MessageRow[];
      for (const r of rows) {
        const plain = r.key_id === null ? r.body : cipher.open(r.body, r.key_id, contextOf(r));
        const s = cipher.seal(plain, contextOf(r));
        await trx.updateTable('im_messages').set({ body: s.body, key_id: s.keyId }).where('id', '=', r.id).execute();
      }
      return rows.length;
    });
  }

  /** The gap after a cursor across every conversation the user belongs to, in cursor order, from the seq they joined at. */
  sync(userId: string, afterId: number, limit: number): Promise<MessageRow[]> {
    return this.q
      .selectFrom('im_messages as x')
      .innerJoin('im_members as m', (j) => j.onRef('m.conv_id', '=', 'x.conv_id').on('m.user_id', '=', userId))
      .selectAll('x')
      .where('x.id', '>', afterId)
      .whereRef('x.seq', '>', 'm.joined_seq')
      .orderBy('x.id')
      .limit(limit)
      .execute()
      .then((rows) => (rows as MessageRow[]).map((r) => this.opened(r)));
  }

  /** One conversation's messages before `beforeSeq` (newest first), not older than the member's join. */
  history(convId: string, afterSeq: number, beforeSeq: number, limit: number): Promise<MessageRow[]> {
    return this.q
      .selectFrom('im_messages')
      .selectAll()
      .where('conv_id', '=', convId)
      .where('seq', '>', afterSeq)
      .where('seq', '<', beforeSeq)
      .orderBy('seq', 'desc')
      .limit(limit)
      .execute()
      .then((rows) => (rows as MessageRow[]).map((r) => this.opened(r)));
  }

  /** True when both users belong to at least one common conversation (presence visibility). */
  async shareConversation(a: string, b: string): Promise<boolean> {
    const r = await this.q
      .selectFrom('im_members as p')
      .innerJoin('im_members as q', 'q.conv_id', 'p.conv_id')
      .select('p.conv_id')
      .where('p.user_id', '=', a)
      .where('q.user_id', '=', b)
      .limit(1)
      .executeTakeFirst();
    return r !== undefined;
  }
}
