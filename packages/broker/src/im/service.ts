import { TypeCompiler, type TypeCheck } from '@sinclair/typebox/compiler';
import type { TSchema } from '@sinclair/typebox';
import { InfraError, isInfraError, newId, parseDuration, type TokenClaims } from '@infra/core';
import type { ImEvent, ImMessage, MemberRole, MessageType } from '@infra/core/topics';
import { bodySchemas, SendEnvelope, type ClientSettings, type Conversation, type CreateConversationBody, type Member } from './schema.js';
import type { ConversationRow, ImStore, MessageRow } from './store.js';
import { MembershipCache, type ConversationFacts } from './membership.js';
import { ackEventJson, conversationView, messageEventJson, messageJson, messageView } from './views.js';

export { messageView } from './views.js';

export interface ImSettings {
  maxGroupSize: number;
  maxMessageBytes: number;
  recallWindow: string;
  temporaryTtl: string;
  syncPageSize: number;
  sendRate: number;
  sendBurst: number;
  /** keepalive interval for devices, e.g. 60s (see presence/heartbeat.ts) */
  heartbeat: string;
}

/**
 * Where the service's events go; the broker wires it to MQTT (im/u/{userId}, im/c/{convId}). An event given as a
 * string is already serialised (JSON of an ImEvent): the send path builds a message's JSON once.
 */
export interface ImNotifier {
  /** `except`: a user to leave out (the sender of a message, whose devices get it in their ack) */
  toUsers(userIds: readonly string[], event: ImEvent | string, except?: string): void;
  toChannel(convId: string, event: ImEvent | string): void;
  /** channel membership changed: `present` says whether userId is a member now */
  membershipChanged(convId: string, userId: string, present: boolean): void;
}

/**
 * What message bodies may reference outside the IM tables (uploaded files, stickers): checked before a send is
 * queued, recorded inside the send's transaction. Implemented by the files module.
 */
export interface MessageReferences {
  /** the message types whose bodies may reference something */
  types: readonly MessageType[];
  /** throws an InfraError when the sender may not send what the body references; returns the body to store */
  resolve(caller: TokenClaims, convId: string, type: MessageType, body: Record<string, unknown>): Promise<Record<string, unknown>>;
  /** inside the send transaction (`db`), before the message row: remember that convId now carries what the body references */
  attach(db: unknown, convId: string, type: MessageType, body: Record<string, unknown>): Promise<void>;
}

export interface SendOutcome {
  /** the `ack` event for the sender, as JSON (carrying the message when the sender was left out of its delivery) */
  ack: string;
  /** the cursor (row id) and seq of the stored message (the earlier one for a resend) */
  cursor: number;
  seq: number;
  duplicate: boolean;
}

/** How a send ends: an error (an InfraError is a refusal; anything else a storage failure), or its outcome. */
export type SendCallback = (err: unknown, outcome?: SendOutcome) => void;

const envelopeCheck = TypeCompiler.Compile(SendEnvelope);
const bodyChecks = Object.fromEntries(Object.entries(bodySchemas).map(([k, s]) => [k, TypeCompiler.Compile(s as TSchema)])) as Record<MessageType, TypeCheck<TSchema>>;
/** a send callback threw: surfaces as an uncaught error of its own, as it did from a promise's then */
function rethrowApart(err: unknown): void {
  queueMicrotask(() => {
    throw err;
  });
}
const isBackend = (c: TokenClaims): boolean => c.role === 'service' || c.role === 'admin';
const iso = (ms: number): string => new Date(ms).toISOString();

function firstError(check: TypeCheck<TSchema>, value: unknown): string {
  const e = check.Errors(value).First();
  return e ? `${e.path || '/'}: ${e.message}` : 'invalid';
}

interface SendRequestBody {
  convId: string;
  clientMsgId: string;
  type: string;
  body: Record<string, unknown>;
}

interface PendingSend {
  caller: TokenClaims;
  req: SendRequestBody;
  type: MessageType;
  done: SendCallback;
}

interface StoredSend {
  conv: ConversationFacts['conv'];
  /** body in clear (the JSON as stored) */
  row: MessageRow;
  duplicate: boolean;
  audience: string[];
}

/** A send that may be stored: its conversation, who receives it, and the time it was admitted. */
interface Admitted {
  conv: ConversationFacts['conv'];
  audience: string[];
  now: number;
}

/**
 * The seqs one batch claimed per conversation: one UPDATE per conversation per batch claims as many as the batch
 * has sends for it; sends take them in arrival order; what refused or duplicate sends left unused is given back
 * before the commit, so the seqs stay gap-free.
 */
class SeqClaims {
  private readonly claims = new Map<string, { next: number; last: number }>();

  constructor(private readonly tx: ImStore, private readonly wanted: Map<string, number>) {}

  take(convId: string): number {
    let c = this.claims.get(convId);
    if (!c) {
      const n = this.wanted.get(convId) ?? 1;
      const last = this.tx.claimSeqs(convId, n);
      if (last === undefined) throw new Error(`conversation ${convId} vanished while claiming a seq`);
      this.claims.set(convId, (c = { next: last - n + 1, last }));
    }
    return c.next++;
  }

  /** the seq just taken for convId was not used (the insert found a duplicate) */
  untake(convId: string): void {
    this.claims.get(convId)!.next--;
  }

  settle(): void {
    for (const [convId, c] of this.claims) if (c.next - 1 < c.last) this.tx.releaseSeqs(convId, c.last, c.next - 1);
  }
}

/** Conversations, membership, messages with per-conversation seq, receipts and sync. No HTTP, no MQTT, no SQL strings. */
export class ImService {
  private readonly recallMs: number;
  private readonly sendQueue: PendingSend[] = [];
  private flushing = false;
  private readonly temporaryMs: number;
  private readonly membership = new MembershipCache();

  constructor(
    private readonly store: ImStore,
    readonly settings: ImSettings,
    private readonly notify: ImNotifier,
    private readonly now: () => number = Date.now,
    private readonly refs?: MessageReferences,
  ) {
    this.recallMs = parseDuration(settings.recallWindow) * 1000;
    this.temporaryMs = parseDuration(settings.temporaryTtl) * 1000;
  }

  /** What a device needs to know to talk to this broker (GET /api/v1/im/settings). */
  clientSettings(): ClientSettings {
    return {
      heartbeatSeconds: Math.min(parseDuration(this.settings.heartbeat), 65_535),
      maxMessageBytes: this.settings.maxMessageBytes,
      syncPageSize: this.settings.syncPageSize,
      recallWindowSeconds: this.recallMs / 1000,
    };
  }

  async create(caller: TokenClaims, input: CreateConversationBody): Promise<{ conversation: Conversation; created: boolean }> {
    const now = this.now();
    const others = (input.members ?? []).filter((m) => m !== caller.sub);
    const creatorJoins = !isBackend(caller);
    if (input.kind === 'direct') {
      const pair = creatorJoins ? [caller.sub, ...others] : others;
      if (pair.length !== 2) throw new InfraError('INFRA_ERR_IM_BAD_MESSAGE', 'a direct conversation has exactly two distinct members');
      const key = [...pair].sort().join('|');
      return this.store.transaction(async (tx) => {
        const existing = await tx.directByKey(key);
        if (existing) return { conversation: conversationView(existing), created: false };
        const row: ConversationRow = { id: newId('conv'), kind: 'direct', title: null, created_by: caller.sub, direct_key: key, last_seq: 0, expires_at: null, created_at: now };
        await tx.insertConversation(row);
        for (const u of pair) await tx.insertMember({ conv_id: row.id, user_id: u, role: 'member', joined_seq: 0, read_seq: 0, delivered_seq: 0, muted: 0, joined_at: now });
        return { conversation: conversationView(row), created: true };
      });
    }
    if (input.ttl !== undefined && input.kind !== 'temporary') throw new InfraError('INFRA_ERR_IM_BAD_MESSAGE', 'ttl applies to temporary conversations only');
    const total = others.length + (creatorJoins ? 1 : 0);
    if (total > this.settings.maxGroupSize) throw new InfraError('INFRA_ERR_IM_GROUP_FULL', `${total} members exceed im.maxGroupSize ${this.settings.maxGroupSize}`);
    const expiresAt = input.kind === 'temporary' ? now + (input.ttl ? parseDuration(input.ttl) * 1000 : this.temporaryMs) : null;
    const row: ConversationRow = { id: newId('conv'), kind: input.kind, title: input.title ?? null, created_by: caller.sub, direct_key: null, last_seq: 0, expires_at: expiresAt, created_at: now };
    await this.store.transaction(async (tx) => {
      await tx.insertConversation(row);
      if (creatorJoins) await tx.insertMember({ conv_id: row.id, user_id: caller.sub, role: 'owner', joined_seq: 0, read_seq: 0, delivered_seq: 0, muted: 0, joined_at: now });
      for (const u of others) await tx.insertMember({ conv_id: row.id, user_id: u, role: 'member', joined_seq: 0, read_seq: 0, delivered_seq: 0, muted: 0, joined_at: now });
    });
    return { conversation: conversationView(row, creatorJoins ? { role: 'owner' } : {}), created: true };
  }

  async list(caller: TokenClaims): Promise<Conversation[]> {
    const rows = await this.store.conversationsOf(caller.sub);
    return rows.map((r) => conversationView(r, r));
  }

  async get(caller: TokenClaims, convId: string): Promise<Conversation> {
    const { conv, member } = await this.access(caller, convId);
    return conversationView(conv, member ?? {});
  }

  async members(caller: TokenClaims, convId: string): Promise<Member[]> {
    await this.access(caller, convId);
    const rows = await this.store.members(convId);
    return rows.map((m) => ({ userId: m.user_id, role: m.role, readSeq: m.read_seq, deliveredSeq: Math.max(m.delivered_seq, m.read_seq), joinedAt: iso(m.joined_at) }));
  }

  /** Self-service join: channels are open to every user; groups need an owner or admin to add you. */
  async join(caller: TokenClaims, convId: string): Promise<void> {
    const conv = await this.conversationOrThrow(convId);
    if (conv.kind !== 'channel') throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', `${conv.kind} conversations are joined by invitation (POST .../members by an owner or admin)`);
    await this.addUsers(conv, [caller.sub]);
  }

  async addMembers(caller: TokenClaims, convId: string, userIds: string[]): Promise<void> {
    const { conv } = await this.manage(caller, convId);
    await this.addUsers(conv, userIds);
  }

  async leave(caller: TokenClaims, convId: string): Promise<void> {
    const conv = await this.conversationOrThrow(convId);
    if (conv.kind === 'direct') throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'a direct conversation cannot be left');
    if (!(await this.changingMembers(convId, () => this.store.deleteMember(convId, caller.sub)))) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${caller.sub} is not a member of ${convId}`);
    await this.membershipEvent(conv, caller.sub, 'left');
  }

  async removeMember(caller: TokenClaims, convId: string, userId: string): Promise<void> {
    const { conv } = await this.manage(caller, convId);
    const target = await this.store.member(convId, userId);
    if (!target) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${userId} is not a member of ${convId}`);
    if (target.role === 'owner') throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'the owner cannot be removed');
    await this.changingMembers(convId, () => this.store.deleteMember(convId, userId));
    await this.membershipEvent(conv, userId, 'removed');
    this.notify.toUsers([userId], { kind: 'member', convId, userId, change: 'removed' });
  }

  async setRole(caller: TokenClaims, convId: string, userId: string, role: 'admin' | 'member'): Promise<void> {
    const { conv, member } = await this.manage(caller, convId);
    if (member && member.role !== 'owner') throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'only the owner changes roles');
    const target = await this.store.member(convId, userId);
    if (!target) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${userId} is not a member of ${convId}`);
    if (target.role === 'owner') throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'the owner’s role is fixed');
    await this.changingMembers(convId, () => this.store.setRole(convId, userId, role));
    await this.membershipEvent(conv, userId, 'role', role);
  }

  /** Mute (or unmute) a member: a muted member still reads but cannot send. Owners, admins, backends; not the owner. */
  async setMuted(caller: TokenClaims, convId: string, userId: string, muted: boolean): Promise<void> {
    await this.manage(caller, convId);
    const target = await this.store.member(convId, userId);
    if (!target) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${userId} is not a member of ${convId}`);
    if (target.role === 'owner') throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'the owner cannot be muted');
    await this.changingMembers(convId, () => this.store.setMuted(convId, userId, muted));
  }

  /**
   * Delivery receipt: one of the caller's devices received everything up to `seq`. The mark only moves forward (any
   * device counts for the user); the other members get a `delivered` event when it moved. Channels keep no receipts
   * for others to see: there the event goes to the caller only.
   */
  async markDelivered(caller: TokenClaims, convId: string, seq: number): Promise<{ deliveredSeq: number }> {
    const { conv, member } = await this.access(caller, convId);
    if (!member) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${caller.sub} is not a member of ${convId}`);
    const target = Math.min(seq, conv.last_seq);
    if (await this.store.advanceDelivered(convId, caller.sub, target)) {
      const event: ImEvent = { kind: 'delivered', convId, userId: caller.sub, seq: target };
      this.notify.toUsers(conv.kind === 'channel' ? [caller.sub] : await this.store.memberIds(convId), event);
    }
    const now = await this.store.member(convId, caller.sub);
    return { deliveredSeq: Math.max(now?.delivered_seq ?? target, now?.read_seq ?? 0) };
  }

  /** Read receipt: moves the user's read mark forward and tells the other members (not in channels). */
  async markRead(caller: TokenClaims, convId: string, seq: number): Promise<{ readSeq: number; unread: number }> {
    const { conv, member } = await this.access(caller, convId);
    if (!member) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${caller.sub} is not a member of ${convId}`);
    const target = Math.min(seq, conv.last_seq);
    const moved = await this.store.advanceRead(convId, caller.sub, target);
    await this.store.advanceDelivered(convId, caller.sub, target); // what was read was delivered
    if (moved) {
      const event: ImEvent = { kind: 'read', convId, userId: caller.sub, seq: target };
      this.notify.toUsers(conv.kind === 'channel' ? [caller.sub] : await this.store.memberIds(convId), event);
    }
    const readSeq = (await this.store.member(convId, caller.sub))?.read_seq ?? target;
    return { readSeq, unread: await this.store.unread(convId, caller.sub, readSeq) };
  }

  async sync(caller: TokenClaims, since: string | undefined, limit: number | undefined): Promise<{ messages: ImMessage[]; cursor: string; more: boolean }> {
    const after = since === undefined ? 0 : Number(since);
    const page = Math.min(limit ?? this.settings.syncPageSize, this.settings.syncPageSize);
    const rows = await this.store.sync(caller.sub, after, page);
    const last = rows[rows.length - 1];
    return { messages: rows.map((r) => messageView(r)), cursor: last ? String(last.id) : String(after), more: rows.length === page };
  }

  /** Scrollback: a page of one conversation's history before `beforeSeq` (default: the newest), oldest first. */
  async history(caller: TokenClaims, convId: string, beforeSeq: number | undefined, limit: number | undefined): Promise<{ messages: ImMessage[]; more: boolean }> {
    const { member } = await this.access(caller, convId);
    const page = Math.min(limit ?? this.settings.syncPageSize, this.settings.syncPageSize);
    const rows = await this.store.history(convId, member?.joined_seq ?? 0, beforeSeq ?? Number.MAX_SAFE_INTEGER, page);
    return { messages: rows.reverse().map((r) => messageView(r)), more: rows.length === page };
  }

  /**
   * A device's im/send: validate, then in one transaction de-duplicate by clientMsgId, claim the next seq and store.
   * Delivery happens after the commit; the returned ack goes to the sender.
   */
  send(caller: TokenClaims, raw: unknown): Promise<SendOutcome> {
    return new Promise<SendOutcome>((resolve, reject) => this.submit(caller, raw, (err, outcome) => (outcome ? resolve(outcome) : reject(err))));
  }

  /**
   * `send` without a promise per message (the im/send path): `done` gets null and the outcome once the message is
   * committed, or the error (synchronously for a send refused by its shape).
   */
  submit(caller: TokenClaims, raw: unknown, done: SendCallback): void {
    if (!envelopeCheck.Check(raw)) return done(new InfraError('INFRA_ERR_IM_BAD_MESSAGE', `bad im/send payload: ${firstError(envelopeCheck, raw)}`));
    const req = raw as SendRequestBody;
    const type = req.type as MessageType;
    const check = bodyChecks[type];
    if (!check.Check(req.body)) return done(new InfraError('INFRA_ERR_IM_BAD_MESSAGE', `bad ${type} body: ${firstError(check, req.body)}`));
    if (type === 'system' && !isBackend(caller)) return done(new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'system messages come from backends (service tokens) only'));
    const refs = this.refs?.types.includes(type) ? this.refs : undefined;
    if (!refs) return this.enqueue({ caller, req, type, done });
    refs.resolve(caller, req.convId, type, req.body).then((body) => this.enqueue({ caller, req: { ...req, body }, type, done }), done);
  }

  private enqueue(item: PendingSend): void {
    this.sendQueue.push(item);
    if (!this.flushing) {
      this.flushing = true;
      setImmediate(() => void this.flushSends());
    }
  }

  /**
   * Group commit: the sends that arrived while the previous transaction ran share the next one (a commit per
   * message was most of the cost). Each send keeps its own outcome: a refused one (InfraError) does not affect
   * the others; a storage failure rolls the whole batch back and fails every send in it (no PUBACK: devices resend).
   */
  private async flushSends(): Promise<void> {
    try {
      while (this.sendQueue.length > 0) {
        const batch = this.sendQueue.splice(0, 256);
        let results: (StoredSend | InfraError)[] = [];
        try {
          const wanted = new Map<string, number>();
          for (const item of batch) wanted.set(item.req.convId, (wanted.get(item.req.convId) ?? 0) + 1);
          await this.store.transaction(async (tx) => {
            results = [];
            // each conversation's facts once per batch (a cache miss reads them through Kysely); then a plain send is
            // stored without a pause (synchronous statements), and only sends with side effects await anything
            const facts = new Map<string, ConversationFacts | undefined>();
            for (const convId of wanted.keys()) facts.set(convId, await this.membership.facts(tx, convId));
            const seqs = new SeqClaims(tx, wanted);
            for (const item of batch) {
              try {
                const convFacts = facts.get(item.req.convId);
                results.push(this.hasEffects(item.type) ? await this.storeEffectSend(tx, seqs, convFacts, item) : this.storeSend(tx, seqs, convFacts, item));
              } catch (err) {
                if (!isInfraError(err)) throw err;
                results.push(err);
              }
            }
            seqs.settle();
          });
        } catch (err) {
          for (const item of batch) {
            try {
              item.done(err);
            } catch (thrown) {
              rethrowApart(thrown);
            }
          }
          continue;
        }
        // deliveries leave in commit (= seq) order
        for (let i = 0; i < batch.length; i++) {
          const r = results[i] as StoredSend | InfraError;
          try {
            if (r instanceof InfraError) batch[i]!.done(r);
            else batch[i]!.done(null, this.deliverStored(r));
          } catch (thrown) {
            rethrowApart(thrown); // the rest of the batch still settles
          }
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  /** sends with side effects before the insert: recall, edit, and bodies that reference files or stickers */
  private hasEffects(type: MessageType): boolean {
    return type === 'recall' || type === 'edit' || this.refs?.types.includes(type) === true;
  }

  /** Inside the batch transaction, synchronously: check rights, de-duplicate by clientMsgId, take the next seq, store. */
  private storeSend(tx: ImStore, seqs: SeqClaims, facts: ConversationFacts | undefined, item: PendingSend): StoredSend {
    const admitted = this.admit(tx, facts, item.caller, item.req, item.type, false);
    return 'now' in admitted ? this.insertAdmitted(tx, seqs, admitted, item) : admitted;
  }

  /** Stores an admitted send with the next seq of its conversation; a resend (the dedup index) gets the stored one. */
  private insertAdmitted(tx: ImStore, seqs: SeqClaims, { conv, audience, now }: Admitted, { caller, req, type }: PendingSend): StoredSend {
    const seq = seqs.take(conv.id);
    // the row as delivered (body in clear); its id once inserted. The body is serialised here, once per send.
    const row: MessageRow = { id: 0, conv_id: conv.id, seq, sender_id: caller.sub, client_msg_id: req.clientMsgId, type, body: JSON.stringify(req.body), created_at: now, edited_at: null, recalled_at: null, key_id: null };
    const id = tx.insertMessage(row);
    if (id === undefined) {
      seqs.untake(conv.id);
      const dup = tx.messageByClientId(conv.id, caller.sub, req.clientMsgId);
      if (!dup) throw new Error(`message ${req.clientMsgId} of ${caller.sub} in ${conv.id} conflicted and cannot be found`);
      return { conv, row: dup, duplicate: true, audience: [] };
    }
    row.id = id;
    return { conv, row, duplicate: false, audience: conv.kind === 'channel' ? [] : audience };
  }

  /**
   * Rights and refusals of a send, synchronously: the conversation and member facts, or the stored message when a
   * refused send (expired conversation, muted sender) or a send with side effects turns out to be a resend.
   */
  private admit(tx: ImStore, facts: ConversationFacts | undefined, caller: TokenClaims, req: SendRequestBody, type: MessageType, effectsChecked: boolean): StoredSend | Admitted {
    const now = this.now();
    if (!facts) throw new InfraError('INFRA_ERR_IM_CONVERSATION_NOT_FOUND', `no conversation ${req.convId}`);
    const conv = facts.conv;
    const member = facts.members.get(caller.sub);
    if (!member && !isBackend(caller)) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${caller.sub} is not a member of ${conv.id}`);
    const refusal =
      conv.expires_at !== null && conv.expires_at <= now ? new InfraError('INFRA_ERR_IM_EXPIRED', `conversation ${conv.id} expired at ${iso(conv.expires_at)}`)
      : conv.kind === 'channel' && member && member.role === 'member' ? new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'only owners and admins post in a channel')
      : type === 'encrypted' && conv.kind !== 'direct' ? new InfraError('INFRA_ERR_IM_BAD_MESSAGE', `end-to-end encrypted messages are for direct conversations; ${conv.id} is a ${conv.kind}`)
      : member && member.muted ? new InfraError('INFRA_ERR_IM_NOT_ALLOWED', `${caller.sub} is muted in ${conv.id}`)
      : undefined;
    if (refusal) {
      // a resend of a message stored before the conversation expired or the sender was muted is still acknowledged
      // (a send with side effects looked for its resend already)
      const dup = effectsChecked ? undefined : tx.messageByClientId(conv.id, caller.sub, req.clientMsgId);
      if (dup) return { conv, row: dup, duplicate: true, audience: [] };
      throw refusal;
    }
    return { conv, audience: facts.audience, now };
  }

  /**
   * A send with side effects before its insert (recall, edit, file references): it looks for a resend first (plain
   * sends learn that from the insert itself, through the dedup index, which saves a query per message), is admitted,
   * carries out its effect, then is stored like any send.
   */
  private async storeEffectSend(tx: ImStore, seqs: SeqClaims, facts: ConversationFacts | undefined, item: PendingSend): Promise<StoredSend> {
    const { caller, req, type } = item;
    if (!facts) throw new InfraError('INFRA_ERR_IM_CONVERSATION_NOT_FOUND', `no conversation ${req.convId}`);
    if (!facts.members.has(caller.sub) && !isBackend(caller)) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${caller.sub} is not a member of ${facts.conv.id}`);
    const dup = tx.messageByClientId(facts.conv.id, caller.sub, req.clientMsgId);
    if (dup) return { conv: facts.conv, row: dup, duplicate: true, audience: [] };
    const admitted = this.admit(tx, facts, caller, req, type, true);
    if (!('now' in admitted)) return admitted;
    const { conv, now } = admitted;
    if (type === 'recall' || type === 'edit') {
      const seq = req.body['seq'] as number;
      const target = await tx.messageBySeq(conv.id, seq);
      if (!target || target.type === 'recall' || target.type === 'edit' || target.recalled_at !== null) throw new InfraError('INFRA_ERR_IM_BAD_MESSAGE', `no message ${seq} to ${type} in ${conv.id}`);
      if (target.sender_id !== caller.sub && !isBackend(caller)) throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', `only the sender may ${type} message ${seq}`);
      if (type === 'recall') {
        if (now - target.created_at > this.recallMs && !isBackend(caller)) throw new InfraError('INFRA_ERR_IM_RECALL_WINDOW', `message ${seq} is older than im.recallWindow (${this.settings.recallWindow})`);
        await tx.markRecalled(conv.id, seq, now);
      } else {
        if (target.type !== 'text') throw new InfraError('INFRA_ERR_IM_BAD_MESSAGE', 'only text messages can be edited');
        const { seq: _s, ...content } = req.body;
        await tx.markEdited(target, JSON.stringify(content), now);
      }
    }
    if (this.refs?.types.includes(type)) await this.refs.attach(tx.db, conv.id, type, req.body);
    return this.insertAdmitted(tx, seqs, admitted, item);
  }

  /**
   * A fresh message goes to its channel's topic or to every member's inbox; a member who sent it gets it once, in the
   * ack (one event instead of an ack and a copy: each was an MQTT publish and a PUBACK for every device).
   */
  private deliverStored({ conv, row, duplicate, audience }: StoredSend): SendOutcome {
    const outcome = { cursor: row.id, seq: row.seq, duplicate };
    if (duplicate) return { ack: ackEventJson(row, true), ...outcome };
    // a fresh row: neither edited nor recalled, body as just stored (see messageJson)
    const message = messageJson(row, row.body);
    if (conv.kind === 'channel') {
      this.notify.toChannel(conv.id, messageEventJson(message));
      return { ack: ackEventJson(row, false), ...outcome };
    }
    this.notify.toUsers(audience, messageEventJson(message), row.sender_id);
    // the sender's devices get it in the ack, when the sender is a member (a backend sending in need not be)
    return { ack: ackEventJson(row, false, audience.includes(row.sender_id) ? message : undefined), ...outcome };
  }

  /** May this user read the broadcast topic of this channel? (ACL for im/c/{convId}) */
  async mayReadChannel(userId: string, convId: string): Promise<boolean> {
    const conv = await this.store.conversation(convId);
    return conv?.kind === 'channel' && (await this.store.member(convId, userId)) !== undefined;
  }

  /** May `viewer` see `subject`'s presence? Only when they share a conversation. */
  maySeePresence(viewer: string, subject: string): Promise<boolean> {
    return this.store.shareConversation(viewer, subject);
  }

  private async conversationOrThrow(convId: string): Promise<ConversationRow> {
    const conv = await this.store.conversation(convId);
    if (!conv) throw new InfraError('INFRA_ERR_IM_CONVERSATION_NOT_FOUND', `no conversation ${convId}`);
    return conv;
  }

  /** Members (and backends) may read a conversation; anyone else gets NOT_MEMBER. */
  private async access(caller: TokenClaims, convId: string) {
    const conv = await this.conversationOrThrow(convId);
    const member = await this.store.member(convId, caller.sub);
    if (!member && !isBackend(caller)) throw new InfraError('INFRA_ERR_IM_NOT_MEMBER', `${caller.sub} is not a member of ${convId}`);
    return { conv, member };
  }

  /** Owners, admins and backends manage membership. */
  private async manage(caller: TokenClaims, convId: string) {
    const { conv, member } = await this.access(caller, convId);
    if (conv.kind === 'direct') throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'direct conversations have fixed members');
    if (member && member.role === 'member' && !isBackend(caller)) throw new InfraError('INFRA_ERR_IM_NOT_ALLOWED', 'only owners and admins manage members');
    return { conv, member };
  }

  private async addUsers(conv: ConversationRow, userIds: string[]): Promise<void> {
    const now = this.now();
    const added: string[] = [];
    await this.changingMembers(conv.id, () => this.store.transaction(async (tx) => {
      const fresh = (await Promise.all(userIds.map(async (u) => ((await tx.member(conv.id, u)) ? undefined : u)))).filter((u): u is string => u !== undefined);
      const count = await tx.memberCount(conv.id);
      if (count + fresh.length > this.settings.maxGroupSize) throw new InfraError('INFRA_ERR_IM_GROUP_FULL', `${conv.id} would have ${count + fresh.length} members, over im.maxGroupSize ${this.settings.maxGroupSize}`);
      const current = await tx.conversation(conv.id);
      for (const u of fresh) {
        await tx.insertMember({ conv_id: conv.id, user_id: u, role: 'member', joined_seq: current?.last_seq ?? 0, read_seq: current?.last_seq ?? 0, delivered_seq: current?.last_seq ?? 0, muted: 0, joined_at: now });
        added.push(u);
      }
    }));
    for (const u of added) await this.membershipEvent(conv, u, 'joined');
  }

  /** Every write to im_members goes through here, so the send path's membership cache never outlives a change. */
  private async changingMembers<T>(convId: string, write: () => Promise<T>): Promise<T> {
    this.membership.invalidate(convId);
    try {
      return await write();
    } finally {
      this.membership.invalidate(convId);
    }
  }

  private async membershipEvent(conv: ConversationRow, userId: string, change: 'joined' | 'left' | 'removed' | 'role', role?: MemberRole): Promise<void> {
    if (conv.kind === 'channel') this.notify.membershipChanged(conv.id, userId, change !== 'left' && change !== 'removed');
    const event: ImEvent = { kind: 'member', convId: conv.id, userId, change, ...(role ? { role } : {}) };
    // channels announce membership only to the member concerned and the managers, not the whole audience
    const to = conv.kind === 'channel' ? [userId, ...(await this.store.members(conv.id)).filter((m) => m.role !== 'member').map((m) => m.user_id)] : [...(await this.store.memberIds(conv.id)), userId];
    this.notify.toUsers([...new Set(to)], event);
  }
}
