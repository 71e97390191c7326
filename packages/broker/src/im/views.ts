import type { ImMessage, MemberRole, MessageType } from '@infra/core/topics';
import type { Conversation } from './schema.js';
import type { ConversationRow, MessageRow } from './store.js';

const iso = (ms: number): string => new Date(ms).toISOString();

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

