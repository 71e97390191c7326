import type { ImMessage, MemberRole, MessageType } from '@infra/core/topics';
import type { Conversation } from './schema.js';
import type { ConversationRow, MessageRow } from './store.js';

// the last time formatted: a send batch's messages mostly share their millisecond, so they share its string
let lastMs = NaN;
let lastIso = '';
function iso(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/** `body`: the body already parsed (a send that was just stored), so it is not parsed back from its JSON */
export function messageView(row: MessageRow, body?: Record<string, unknown>): ImMessage {
  return {
    cursor: String(row.id),
    convId: row.conv_id,
    seq: row.seq,
    senderId: row.sender_id,
    clientMsgId: row.client_msg_id,
    type: row.type as MessageType,
    // a recalled message keeps its place in the sequence, not its content
    body: row.recalled_at === null ? (body ?? (JSON.parse(row.body) as Record<string, unknown>)) : {},
    createdAt: iso(row.created_at),
    ...(row.edited_at !== null ? { editedAt: iso(row.edited_at) } : {}),
    ...(row.recalled_at !== null ? { recalledAt: iso(row.recalled_at) } : {}),
  };
}

/**
 * A freshly stored message (neither edited nor recalled) as JSON: exactly JSON.stringify(messageView(row)), built from
 * `bodyJson` (the body as stored, so it is serialised once per send, not once more for the event). convId,
 * clientMsgId and type are JSON-safe by their send schema (SendEnvelope); the sender id comes from a token, so it is
 * escaped.
 */
export function messageJson(row: MessageRow, bodyJson: string): string {
  return `{"cursor":"${row.id}","convId":"${row.conv_id}","seq":${row.seq},"senderId":${JSON.stringify(row.sender_id)},"clientMsgId":"${row.client_msg_id}","type":"${row.type}","body":${bodyJson},"createdAt":"${iso(row.created_at)}"}`;
}

/** JSON.stringify({ kind: 'message', message }) of a message given as messageJson */
export function messageEventJson(message: string): string {
  return `{"kind":"message","message":${message}}`;
}

/** JSON.stringify of an `ack` event, built directly (ids as in messageJson); `message` (JSON) for the sender's devices */
export function ackEventJson(row: MessageRow, duplicate: boolean, message?: string): string {
  return `{"kind":"ack","convId":"${row.conv_id}","clientMsgId":"${row.client_msg_id}","seq":${row.seq},"cursor":"${row.id}","duplicate":${duplicate}${message === undefined ? '' : `,"message":${message}`}}`;
}

export function conversationView(row: ConversationRow, extra: { role?: MemberRole; read_seq?: number; unread?: number } = {}): Conversation {
  return {
    id: row.id,
    kind: row.kind,
    ...(row.title !== null ? { title: row.title } : {}),
    createdBy: row.created_by,
    lastSeq: row.last_seq,
    createdAt: iso(row.created_at),
    ...(row.expires_at !== null ? { expiresAt: iso(row.expires_at) } : {}),
    ...(extra.role ? { role: extra.role } : {}),
    ...(extra.read_seq !== undefined ? { readSeq: extra.read_seq } : {}),
    ...(extra.unread !== undefined ? { unread: Number(extra.unread) } : {}),
  };
}

