import type { MqttClient } from 'mqtt';
import { topics, type ConversationKind, type EncryptedBody, type FileInfo, type ImEvent, type ImMessage, type MessageType, type PresenceState } from '@infra/core/topics';
import { connectInfra, type ConnectOptions } from './connect.js';
import { uploadFile, type UploadData, type UploadOptions } from './upload.js';
import type { E2eeKeys, SealedMessage } from './e2ee.js';

export interface ChatOptions extends ConnectOptions {
  /** the gateway's API base, e.g. http://127.0.0.1:8080/api/v1 */
  apiUrl: string;
  /** the sync cursor this device persisted last time (see `cursor`); omit on first start */
  cursor?: string;
  /** how long send() waits for the broker's ack before publishing again with the same clientMsgId */
  ackTimeoutMs?: number;
  /** how many times send() publishes again before it gives up */
  retries?: number;
  /**
   * Send delivery receipts by itself (default true): shortly after messages from others reach on('message'), the
   * highest seq per conversation goes to POST /im/conversations/{id}/delivered; senders see `delivered` events.
   */
  deliveryReceipts?: boolean;
  /**
   * How sync() pulls pages: 'http' (default, GET /api/v1/im/sync) or 'mqtt' (an im/sync request answered on the
   * inbox, no HTTP round trip; each page waits at most ackTimeoutMs).
   */
  syncOver?: 'http' | 'mqtt';
}

type SyncPage = { messages: ImMessage[]; cursor: string; more: boolean };

export type Ack = Extract<ImEvent, { kind: 'ack' }>;

/** A refusal from the broker (error event) or the API (problem+json): `code` is the INFRA_ERR_* code. */
export class ImError extends Error {
  constructor(readonly code: string, message: string, readonly status?: number) {
    super(message);
    this.name = 'ImError';
  }
}

interface Handlers {
  message: (m: ImMessage) => void;
  event: (e: ImEvent) => void;
  presence: (p: PresenceState) => void;
}

const newClientMsgId = (): string => `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;

/**
 * The chat client: send with a local clientMsgId and retries (the broker de-duplicates), receive live on
 * im/u/{userId}, catch up through sync from a cursor the app persists, receipts and presence.
 * Every message reaches `on('message')` once per (convId, seq), whether it came live or by sync.
 */
export class InfraChat {
  private readonly listeners: { [K in keyof Handlers]: Set<Handlers[K]> } = { message: new Set(), event: new Set(), presence: new Set() };
  private readonly pendingAcks = new Map<string, { resolve: (a: Ack) => void; reject: (e: Error) => void }>();
  /** im/sync requests waiting for their `sync` event, by requestId */
  private readonly pendingSyncs = new Map<string, { resolve: (p: SyncPage) => void; reject: (e: Error) => void }>();
  private readonly delivered = new Set<string>();
  private e2ee: E2eeKeys | undefined;
  private readonly receiptsDue = new Map<string, number>();
  private receiptTimer: ReturnType<typeof setTimeout> | undefined;
  /** peers' public keys, fetched once per peer */
  private readonly peerKeys = new Map<string, string>();
  private syncing: Promise<ImMessage[]> | undefined;
  private cursorValue: string | undefined;

  private constructor(readonly mqtt: MqttClient, private readonly opts: ChatOptions) {
    this.cursorValue = opts.cursor;
    mqtt.on('message', (topic, payload) => this.onPacket(topic, payload));
    // after a reconnect, whatever arrived meanwhile and was not queued for us comes through sync
    mqtt.on('connect', () => void this.sync().catch(() => undefined));
  }

  /**
   * Connects; without an explicit `keepalive` the device pings at the broker's im.heartbeat, learned from
   * GET /api/v1/im/settings (the documented default, 60 s, if that cannot be read).
   */
  static async connect(opts: ChatOptions): Promise<InfraChat> {
    const keepalive = opts.keepalive ?? (await InfraChat.heartbeatOf(opts));
    const client = await connectInfra({ ...opts, ...(keepalive !== undefined ? { keepalive } : {}) });
    return new InfraChat(client, opts);
  }

  /** the broker's im.heartbeat in seconds, or undefined when the settings cannot be read */
  private static async heartbeatOf(opts: ChatOptions): Promise<number | undefined> {
    try {
      const res = await fetch(`${opts.apiUrl}/im/settings`, { headers: { authorization: `Bearer ${opts.token}` } });
      if (!res.ok) return undefined;
      const s = (await res.json()) as { heartbeatSeconds?: unknown };
      return typeof s.heartbeatSeconds === 'number' && s.heartbeatSeconds > 0 ? s.heartbeatSeconds : undefined;
    } catch {
      return undefined;
    }
  }

  /** The sync position: persist it and pass it back as `cursor` on the next start. */
  get cursor(): string | undefined {
    return this.cursorValue;
  }

  on<K extends keyof Handlers>(kind: K, handler: Handlers[K]): () => void {
    this.listeners[kind].add(handler);
    return () => this.listeners[kind].delete(handler);
  }

  /** Sends and resolves with the ack (seq, cursor). A resend after a timeout reuses the clientMsgId, so it is stored once. */
  async send(convId: string, type: MessageType, body: Record<string, unknown>, opts: { clientMsgId?: string } = {}): Promise<Ack> {
    const clientMsgId = opts.clientMsgId ?? newClientMsgId();
    const key = `${convId}|${clientMsgId}`;
    const payload = JSON.stringify({ convId, clientMsgId, type, body });
    const timeout = this.opts.ackTimeoutMs ?? 5000;
    const attempts = (this.opts.retries ?? 3) + 1;
    const acked = new Promise<Ack>((resolve, reject) => this.pendingAcks.set(key, { resolve, reject }));
    try {
      for (let attempt = 1; ; attempt++) {
        this.mqtt.publish(topics.imSend, payload, { qos: 1 });
        let timer: ReturnType<typeof setTimeout> | undefined;
        const winner = await Promise.race([acked, new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), timeout); })]).finally(() => clearTimeout(timer));
        if (winner) return winner;
        if (attempt >= attempts) throw new ImError('INFRA_ERR_IM_ACK_TIMEOUT', `no ack for ${clientMsgId} after ${attempts} attempts`);
      }
    } finally {
      this.pendingAcks.delete(key);
    }
  }

  sendText(convId: string, text: string, mentions?: string[]): Promise<Ack> {
    return this.send(convId, 'text', mentions ? { text, mentions } : { text });
  }

  /**
   * Turns on end-to-end encryption for this user: publishes the public key (PUT /im/keys) so peers can seal for it,
   * and opens `encrypted` messages before they reach on('message').
   */
  async enableE2ee(keys: E2eeKeys): Promise<void> {
    await this.api('PUT', '/im/keys', { publicKey: keys.publicKey });
    this.e2ee = keys;
  }

  /**
   * Sends `type`/`body` end-to-end encrypted in a direct conversation with `peerId` (who must have published a key):
   * the server stores and relays only ciphertext. Resolves with the ack like send().
   */
  async sendEncrypted(convId: string, peerId: string, message: SealedMessage): Promise<Ack> {
    if (!this.e2ee) throw new ImError('INFRA_ERR_IM_E2EE_OFF', 'call enableE2ee(keys) first');
    let peerKey = this.peerKeys.get(peerId);
    if (!peerKey) {
      peerKey = (await this.api<{ publicKey: string }>('GET', `/im/keys/${encodeURIComponent(peerId)}`)).publicKey;
      this.peerKeys.set(peerId, peerKey);
    }
    return this.send(convId, 'encrypted', this.e2ee.seal(convId, this.opts.userId, peerKey, message) as unknown as Record<string, unknown>);
  }

  /** Pulls everything after the cursor, page by page, hands new messages to on('message') in order, moves the cursor. */
  sync(): Promise<ImMessage[]> {
    this.syncing ??= (async () => {
      const fresh: ImMessage[] = [];
      try {
        for (;;) {
          const page = this.opts.syncOver === 'mqtt' ? await this.syncPageOverMqtt(this.cursorValue) : await this.api<SyncPage>('GET', `/im/sync${this.cursorValue === undefined ? '' : `?since=${encodeURIComponent(this.cursorValue)}`}`);
          for (const m of page.messages) if (this.deliver(m)) fresh.push(m);
          this.cursorValue = page.cursor;
          if (!page.more) return fresh;
        }
      } finally {
        this.syncing = undefined;
      }
    })();
    return this.syncing;
  }

  /** One sync page through the broker: publish {requestId, since} to im/sync, wait for the `sync` event with that id. */
  private async syncPageOverMqtt(since: string | undefined): Promise<SyncPage> {
    const requestId = `sync-${newClientMsgId()}`;
    const answered = new Promise<SyncPage>((resolve, reject) => this.pendingSyncs.set(requestId, { resolve, reject }));
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      this.mqtt.publish(topics.imSync, JSON.stringify({ requestId, ...(since !== undefined ? { since } : {}) }), { qos: 1 });
      const timeout = new Promise<never>((_r, reject) => {
        timer = setTimeout(() => reject(new ImError('INFRA_ERR_IM_ACK_TIMEOUT', `no answer to im/sync ${requestId}`)), this.opts.ackTimeoutMs ?? 5000);
      });
      return await Promise.race([answered, timeout]);
    } finally {
      clearTimeout(timer);
      this.pendingSyncs.delete(requestId);
    }
  }

  /** Scrollback: a page of one conversation's history before `before` (default: the newest), oldest first. */
  async history(convId: string, opts: { before?: number; limit?: number } = {}): Promise<{ messages: ImMessage[]; more: boolean }> {
    const q = new URLSearchParams();
    if (opts.before !== undefined) q.set('before', String(opts.before));
    if (opts.limit !== undefined) q.set('limit', String(opts.limit));
    const qs = q.toString();
    const page = await this.api<{ messages: ImMessage[]; more: boolean }>('GET', `/im/conversations/${encodeURIComponent(convId)}/messages${qs ? `?${qs}` : ''}`);
    return { ...page, messages: page.messages.map((m) => this.opened(m)) };
  }

  markRead(convId: string, seq: number): Promise<{ readSeq: number; unread: number }> {
    return this.api('POST', `/im/conversations/${encodeURIComponent(convId)}/read`, { seq });
  }

  createConversation(input: { kind: ConversationKind; members?: string[]; title?: string; ttl?: string }): Promise<{ id: string; kind: ConversationKind; lastSeq: number }> {
    return this.api('POST', '/im/conversations', input);
  }

  async conversations(): Promise<{ id: string; kind: ConversationKind; lastSeq: number; readSeq?: number; unread?: number }[]> {
    return (await this.api<{ conversations: { id: string; kind: ConversationKind; lastSeq: number; readSeq?: number; unread?: number }[] }>('GET', '/im/conversations')).conversations;
  }

  async join(convId: string): Promise<void> {
    await this.api('POST', `/im/conversations/${encodeURIComponent(convId)}/join`);
  }

  async leave(convId: string): Promise<void> {
    await this.api('POST', `/im/conversations/${encodeURIComponent(convId)}/leave`);
  }

  /** Receive a channel's broadcast (members only; the broker refuses others). */
  async subscribeChannel(convId: string): Promise<void> {
    await this.subscribeOrThrow(topics.imChannel(convId));
  }

  /** Watch a contact's presence (someone you share a conversation with); the current state arrives at once (retained). */
  async watchPresence(userId: string): Promise<void> {
    await this.subscribeOrThrow(topics.presence(userId));
  }

  /** Say this user is away (or back online); the broker keeps the device list itself. */
  async setAway(away: boolean): Promise<void> {
    await this.mqtt.publishAsync(topics.presence(this.opts.userId), JSON.stringify({ status: away ? 'away' : 'online' }), { qos: 1 });
  }

  async close(): Promise<void> {
    clearTimeout(this.receiptTimer);
    for (const p of this.pendingAcks.values()) p.reject(new ImError('INFRA_ERR_IM_CLOSED', 'client closed'));
    await this.mqtt.endAsync();
  }

  private async subscribeOrThrow(filter: string): Promise<void> {
    let granted: number | undefined;
    try {
      granted = (await this.mqtt.subscribeAsync(filter, { qos: 1 }))[0]?.qos;
    } catch (err) {
      granted = (err as { packet?: { granted?: number[] } }).packet?.granted?.[0];
    }
    if (granted === undefined || granted >= 128) throw new ImError('INFRA_ERR_FORBIDDEN', `the broker refused a subscription to ${filter}`);
  }

  /** true when this (convId, seq) was not handed to the app before */
  private deliver(raw: ImMessage): boolean {
    const key = `${raw.convId}#${raw.seq}`;
    if (this.delivered.has(key)) return false;
    this.delivered.add(key);
    const m = this.opened(raw);
    if (this.delivered.size > 50_000) this.delivered.delete(this.delivered.values().next().value as string);
    for (const h of this.listeners.message) h(m);
    if (m.senderId !== this.opts.userId && this.opts.deliveryReceipts !== false) this.receiptLater(m.convId, m.seq);
    return true;
  }

  /** Batches delivery receipts: one call per conversation with its highest seq, 200 ms after the first message. */
  private receiptLater(convId: string, seq: number): void {
    this.receiptsDue.set(convId, Math.max(seq, this.receiptsDue.get(convId) ?? 0));
    this.receiptTimer ??= setTimeout(() => {
      this.receiptTimer = undefined;
      const due = [...this.receiptsDue];
      this.receiptsDue.clear();
      for (const [c, s] of due) void this.markDelivered(c, s).catch(() => undefined); // best effort: sync brings the rest
    }, 200);
  }

  /** Delivery receipt by hand (the SDK sends them itself unless `deliveryReceipts: false`). */
  markDelivered(convId: string, seq: number): Promise<{ deliveredSeq: number }> {
    return this.api('POST', `/im/conversations/${encodeURIComponent(convId)}/delivered`, { seq });
  }

  /** an `encrypted` message, opened when this user has E2EE on; anything else as it is */
  private opened(m: ImMessage): ImMessage {
    if (m.type !== 'encrypted' || !this.e2ee || m.recalledAt) return m;
    try {
      const inner = this.e2ee.open(m.convId, m.senderId, m.body as unknown as EncryptedBody);
      return { ...m, type: inner.type, body: inner.body, e2ee: 'decrypted' };
    } catch {
      return { ...m, e2ee: 'undecryptable' };
    }
  }

  private onPacket(topic: string, payload: Buffer): void {
    let data: unknown;
    try {
      data = JSON.parse(payload.toString());
    } catch {
      return;
    }
    if (topic.startsWith('presence/')) {
      for (const h of this.listeners.presence) h(data as PresenceState);
      return;
    }
    const event = data as ImEvent;
    for (const h of this.listeners.event) h(event);
    if (event.kind === 'message') this.deliver(event.message);
    else if (event.kind === 'sync' || (event.kind === 'error' && event.requestId !== undefined)) {
      // answers to another device's im/sync requests reach this inbox too: only our own requestIds count
      const waiter = this.pendingSyncs.get(event.requestId ?? '');
      if (!waiter) return;
      if (event.kind === 'sync') waiter.resolve(event);
      else waiter.reject(new ImError(event.code, event.message));
    } else if (event.kind === 'ack' || (event.kind === 'error' && event.clientMsgId !== undefined)) {
      // a fresh send's ack carries the message: the sender's devices (this one and the others) get it only there
      if (event.kind === 'ack' && event.message) this.deliver(event.message);
      const key = `${event.convId ?? ''}|${event.clientMsgId ?? ''}`;
      const waiter = this.pendingAcks.get(key);
      if (!waiter) return;
      if (event.kind === 'ack') waiter.resolve(event);
      else waiter.reject(new ImError(event.code, event.message));
    }
  }

  /**
   * Uploads a file (bytes, a Blob, or a stream such as fs.createReadStream) and resolves with its metadata once its
   * derivatives are made (`wait: false` to skip that). Send it with `send(convId, 'image', { fileId: info.id })`.
   */
  upload(data: UploadData, opts: UploadOptions = {}): Promise<FileInfo> {
    return uploadFile({ apiUrl: this.opts.apiUrl, token: this.opts.token, fail: (res) => this.fail(res) }, data, opts);
  }

  private async fail(res: Response): Promise<never> {
    const text = await res.text();
    let problem: { type?: string; detail?: string; title?: string } = {};
    try {
      problem = (text ? JSON.parse(text) : {}) as typeof problem;
    } catch { /* not problem+json */ }
    throw new ImError(problem.type ?? 'INFRA_ERR_INTERNAL', problem.detail ?? problem.title ?? `HTTP ${res.status}`, res.status);
  }

  private async api<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await fetch(`${this.opts.apiUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.opts.token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    const json = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const problem = (json ?? {}) as { type?: string; detail?: string; title?: string };
      throw new ImError(problem.type ?? 'INFRA_ERR_INTERNAL', problem.detail ?? problem.title ?? `HTTP ${res.status}`, res.status);
    }
    return json as T;
  }
}
