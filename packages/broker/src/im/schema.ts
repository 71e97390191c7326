import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Id = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' });
const Url = Type.String({ minLength: 1, maxLength: 2048 });
const Str = (max: number) => Type.String({ minLength: 1, maxLength: max });
const closed = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });
/** an uploaded file (POST /api/v1/files) instead of an external url: the broker checks it and fills in the rest */
const fileRef = closed({ fileId: Id });

/** Body shape of each message type; validated on the broker's publish path before anything is stored. */
export const bodySchemas = {
  text: closed({ text: Str(8000), mentions: Type.Optional(Type.Array(Id, { maxItems: 100 })) }),
  image: Type.Union([closed({ url: Url, width: Type.Optional(Type.Integer({ minimum: 1 })), height: Type.Optional(Type.Integer({ minimum: 1 })), size: Type.Optional(Type.Integer({ minimum: 0 })), mime: Type.Optional(Str(100)), thumbUrl: Type.Optional(Url) }), fileRef]),
  file: Type.Union([closed({ url: Url, name: Str(255), size: Type.Integer({ minimum: 0 }), mime: Type.Optional(Str(100)) }), closed({ fileId: Id, name: Type.Optional(Str(255)) })]),
  voice: Type.Union([closed({ url: Url, durationMs: Type.Integer({ minimum: 1 }), size: Type.Optional(Type.Integer({ minimum: 0 })), mime: Type.Optional(Str(100)) }), fileRef]),
  video: Type.Union([closed({ url: Url, durationMs: Type.Optional(Type.Integer({ minimum: 1 })), width: Type.Optional(Type.Integer({ minimum: 1 })), height: Type.Optional(Type.Integer({ minimum: 1 })), size: Type.Optional(Type.Integer({ minimum: 0 })), coverUrl: Type.Optional(Url) }), fileRef]),
  sticker: closed({ packId: Id, stickerId: Id }),
  location: closed({ lat: Type.Number({ minimum: -90, maximum: 90 }), lng: Type.Number({ minimum: -180, maximum: 180 }), name: Type.Optional(Str(200)), address: Type.Optional(Str(500)) }),
  system: closed({ text: Str(8000), data: Type.Optional(Type.Record(Type.String(), Type.Unknown())) }),
  // end-to-end encrypted (direct conversations only): the server checks the envelope, never the content
  encrypted: closed({
    alg: Type.Literal('x25519-hkdf-sha256-xchacha20poly1305'),
    senderKey: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
    recipientKey: Type.String({ pattern: '^[A-Za-z0-9_-]{43}$' }),
    nonce: Type.String({ pattern: '^[A-Za-z0-9_-]{32}$' }),
    ciphertext: Type.String({ pattern: '^[A-Za-z0-9_-]{22,}$', maxLength: 12000 }),
  }),
  recall: closed({ seq: Type.Integer({ minimum: 1 }) }),
  edit: closed({ seq: Type.Integer({ minimum: 1 }), text: Str(8000), mentions: Type.Optional(Type.Array(Id, { maxItems: 100 })) }),
} as const;

export const SendEnvelope = closed({
  convId: Id,
  clientMsgId: Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,64}$' }),
  type: Type.Union(Object.keys(bodySchemas).map((k) => Type.Literal(k))),
  body: Type.Object({}, { additionalProperties: true }),
});
export type SendEnvelope = Static<typeof SendEnvelope>;

const Kind = Type.Union([Type.Literal('direct'), Type.Literal('group'), Type.Literal('channel'), Type.Literal('temporary')]);
const Role = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member')]);

export const CreateConversationBody = closed({
  kind: Kind,
  /** direct: exactly the other user; group/channel/temporary: initial members besides the creator */
  members: Type.Optional(Type.Array(Id, { maxItems: 1000, uniqueItems: true })),
  title: Type.Optional(Str(200)),
  /** temporary only: lifetime such as 6h (default im.temporaryTtl) */
  ttl: Type.Optional(Type.String({ pattern: '^[0-9]+[smhd]$' })),
});
export type CreateConversationBody = Static<typeof CreateConversationBody>;

export const Conversation = Type.Object({
  id: Type.String(),
  kind: Kind,
  title: Type.Optional(Type.String()),
  createdBy: Type.String(),
  lastSeq: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  expiresAt: Type.Optional(Type.String({ format: 'date-time' })),
  role: Type.Optional(Role),
  readSeq: Type.Optional(Type.Integer()),
  unread: Type.Optional(Type.Integer()),
});
export type Conversation = Static<typeof Conversation>;

export const Member = Type.Object({ userId: Type.String(), role: Role, readSeq: Type.Integer(), deliveredSeq: Type.Integer({ description: 'highest seq one of the member’s devices confirmed receiving (read implies delivered)' }), joinedAt: Type.String({ format: 'date-time' }) });
export type Member = Static<typeof Member>;

export const ConvParams = closed({ convId: Id });
export const MemberParams = closed({ convId: Id, userId: Id });
export const AddMembersBody = closed({ userIds: Type.Array(Id, { minItems: 1, maxItems: 1000, uniqueItems: true }) });
export const SetRoleBody = closed({ role: Type.Union([Type.Literal('admin'), Type.Literal('member')]) });
export const MuteBody = closed({ muted: Type.Boolean() });
export const ReadBody = closed({ seq: Type.Integer({ minimum: 0 }) });
export const SyncQuery = closed({
  since: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the cursor of the last message this device has; omit for everything' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});

const MessageSchema = Type.Object({
  cursor: Type.String(),
  convId: Type.String(),
  seq: Type.Integer(),
  senderId: Type.String(),
  clientMsgId: Type.String(),
  type: Type.String(),
  body: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Type.String(),
  editedAt: Type.Optional(Type.String()),
  recalledAt: Type.Optional(Type.String()),
});
export const HistoryQuery = closed({
  before: Type.Optional(Type.Integer({ minimum: 1, description: 'only messages with a smaller seq; omit for the newest' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
export const HistoryReply = Type.Object({ messages: Type.Array(MessageSchema), more: Type.Boolean({ description: 'older messages exist: ask again with before = the first seq' }) });
export const SyncReply = Type.Object({ messages: Type.Array(MessageSchema), cursor: Type.String({ description: 'pass as since= next time' }), more: Type.Boolean() });
export const ConversationList = Type.Object({ conversations: Type.Array(Conversation) });
export const MemberList = Type.Object({ members: Type.Array(Member) });

export const ClientSettings = Type.Object({
  heartbeatSeconds: Type.Integer({ minimum: 1, maximum: 65535, description: 'im.heartbeat: the MQTT keepalive devices should use; a connection silent for 1.5 × this is closed when its own keepalive is 0 or longer' }),
  maxMessageBytes: Type.Integer({ description: 'im.maxMessageBytes: the largest im/send payload' }),
  syncPageSize: Type.Integer({ description: 'im.syncPageSize: the most messages one sync page returns' }),
  recallWindowSeconds: Type.Integer({ description: 'im.recallWindow: how long after sending a message may be recalled' }),
});
export type ClientSettings = Static<typeof ClientSettings>;

/** An im/sync request (the MQTT form of GET /api/v1/im/sync). */
export const SyncRequest = closed({
  requestId: Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,64}$', description: 'chosen by the device; the `sync` event answering it carries it back' }),
  since: Type.Optional(Type.String({ pattern: '^[0-9]{1,15}$', description: 'the cursor of the last message this device has; omit for everything' })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
});
