/**
 * Payloads of the IM topics (docs/im.md). Type-only: the SDK imports them through '@infra/core/topics'
 * without pulling anything else of core.
 */

export type ConversationKind = 'direct' | 'group' | 'channel' | 'temporary';
export type MemberRole = 'owner' | 'admin' | 'member';
export type ContentType = 'text' | 'image' | 'file' | 'voice' | 'video' | 'sticker' | 'location' | 'system' | 'encrypted';

/**
 * The body of an `encrypted` message (direct conversations, end-to-end): the real message `{type, body}` as JSON,
 * sealed with XChaCha20-Poly1305 under a key both members derive by X25519 (HKDF-SHA256, salt = convId), bound to
 * `convId` and the sender. The server stores and relays it without being able to open it. Binary fields are base64url.
 */
export interface EncryptedBody {
  alg: 'x25519-hkdf-sha256-xchacha20poly1305';
  /** the sender's and the recipient's X25519 public keys at the time of sending */
  senderKey: string;
  recipientKey: string;
  /** 24 bytes */
  nonce: string;
  ciphertext: string;
}
/** content types plus the two event types that change an earlier message */
export type MessageType = ContentType | 'recall' | 'edit';

/** What a device publishes to `im/send` (QoS 1). */
export interface SendRequest {
  convId: string;
  /** unique per sender and conversation; a resend with the same id is acknowledged, never stored twice */
  clientMsgId: string;
  type: MessageType;
  body: Record<string, unknown>;
}

/** A stored message as delivered live and by sync. */
export interface ImMessage {
  /** global, opaque, increasing: the sync cursor after this message */
  cursor: string;
  convId: string;
  /** per-conversation, gap-free, starting at 1 */
  seq: number;
  senderId: string;
  clientMsgId: string;
  type: MessageType;
  body: Record<string, unknown>;
  createdAt: string;
  editedAt?: string;
  recalledAt?: string;
  /**
   * Set by the SDK, never by the server, on an `encrypted` message it opened (`type`/`body` are then the inner
   * message) or could not open (`type` stays `encrypted`).
   */
  e2ee?: 'decrypted' | 'undecryptable';
}

/** Everything the broker publishes on `im/u/{userId}` (and, for channels, `im/c/{convId}`). */
export type ImEvent =
  | { kind: 'message'; message: ImMessage }
  /**
   * A send was stored (or was a resend of a stored one: `duplicate`). For a fresh send by a member of a direct, group
   * or temporary conversation, `message` is the stored message: this ack is the sender's devices' copy of it (they get
   * no separate `message` event)
   */
  | { kind: 'ack'; convId: string; clientMsgId: string; seq: number; cursor: string; duplicate: boolean; message?: ImMessage }
  | { kind: 'error'; code: string; message: string; clientMsgId?: string; convId?: string; requestId?: string }
  /** the answer to an im/sync request (the MQTT form of GET /api/v1/im/sync), matched by requestId */
  | { kind: 'sync'; requestId: string; messages: ImMessage[]; cursor: string; more: boolean }
  | { kind: 'read'; convId: string; userId: string; seq: number }
  | { kind: 'delivered'; convId: string; userId: string; seq: number }
  | { kind: 'member'; convId: string; userId: string; change: 'joined' | 'left' | 'removed' | 'role'; role?: MemberRole };

/** The retained payload of `presence/{userId}`. */
export interface PresenceState {
  userId: string;
  status: 'online' | 'away' | 'offline';
  devices: { clientId: string; since: string }[];
  lastSeen: string;
}

/** What an uploaded file is, from its sniffed content type. */
export type FileKind = 'image' | 'video' | 'audio' | 'file';

/** `GET /api/v1/files/{id}` and the reply of `POST /api/v1/files` (docs/im.md "Files"). */
export interface FileInfo {
  id: string;
  kind: FileKind;
  /** sniffed from the bytes, never the client's claim */
  mime: string;
  size: number;
  name: string;
  /** derivatives (thumbnail, cover, duration, transcode) are made after the upload answered */
  status: 'processing' | 'ready' | 'failed';
  convId?: string;
  uploaderId: string;
  createdAt: string;
  /** gateway paths of the bytes and of the derivatives */
  url: string;
  thumbnailUrl?: string;
  audioUrl?: string;
  width?: number;
  height?: number;
  durationMs?: number;
  error?: string;
}

/** A sticker pack with its stickers (`GET /api/v1/stickers/packs`). */
export interface StickerPack {
  id: string;
  name: string;
  createdAt: string;
  stickers: { id: string; name?: string; fileId: string; url: string }[];
}
