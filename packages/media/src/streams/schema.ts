import { Type, type Static } from '@sinclair/typebox';

export const StreamIdParam = Type.Object({ streamId: Type.String({ pattern: '^st_[0-9a-z]{26}$' }) }, { additionalProperties: false });
export type StreamIdParam = Static<typeof StreamIdParam>;

export const CreateStreamBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 120, description: 'a label for people; the stream id is generated' }),
    ttl: Type.Optional(Type.String({ pattern: '^[0-9]+[smhd]$', description: 'key lifetime such as 12h or 30d; default media.streamKeyTtl' })),
    private: Type.Optional(Type.Boolean({ description: 'playback needs a signed token (POST /media/streams/{id}/playback-token)' })),
  },
  { additionalProperties: false },
);
export type CreateStreamBody = Static<typeof CreateStreamBody>;

export const RotateKeyBody = Type.Object(
  { ttl: Type.Optional(Type.String({ pattern: '^[0-9]+[smhd]$', description: 'key lifetime; default media.streamKeyTtl' })) },
  { additionalProperties: false },
);
export type RotateKeyBody = Static<typeof RotateKeyBody>;

export const StreamState = Type.Union([Type.Literal('idle'), Type.Literal('live'), Type.Literal('ended'), Type.Literal('cut')]);
export type StreamState = Static<typeof StreamState>;

export const PlaybackUrls = Type.Object({
  hlsUrl: Type.String({ description: 'HLS master playlist, by stream id' }),
  flvUrl: Type.String({ description: 'HTTP-FLV, by stream id (lowest latency)' }),
  coverUrl: Type.String(),
});

export const StreamReply = Type.Object({
  id: Type.String(),
  name: Type.String(),
  state: StreamState,
  keyExpiresAt: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  keyRevoked: Type.Boolean(),
  private: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  hlsUrl: Type.String(),
  flvUrl: Type.String(),
  coverUrl: Type.String(),
});
export type StreamReply = Static<typeof StreamReply>;

/** What a streamer pastes into OBS: Server = rtmpUrl, Stream Key = key. Shown once; only its hash is stored. */
export const StreamKeyReply = Type.Object({
  id: Type.String(),
  key: Type.String({ description: 'OBS "Stream Key": `<streamId>?key=<secret>`' }),
  rtmpUrl: Type.String({ description: 'OBS "Server": rtmp://host:port/live' }),
  hlsUrl: Type.String(),
  flvUrl: Type.String(),
  keyExpiresAt: Type.String({ format: 'date-time' }),
});
export type StreamKeyReply = Static<typeof StreamKeyReply>;

export const StreamList = Type.Object({ streams: Type.Array(StreamReply) });
export type StreamList = Static<typeof StreamList>;

export const StreamEvent = Type.Object({
  streamId: Type.String(),
  sessionId: Type.String(),
  state: StreamState,
  at: Type.String({ format: 'date-time' }),
  actor: Type.Optional(Type.String({ description: 'who cut the stream' })),
  reason: Type.Optional(Type.String()),
});
export type StreamEvent = Static<typeof StreamEvent>;
export const StreamEventList = Type.Object({ events: Type.Array(StreamEvent) });

export const CutBody = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
export type CutBody = Static<typeof CutBody>;

export const PlaybackTokenBody = Type.Object(
  { ttl: Type.Optional(Type.String({ pattern: '^[0-9]+[smhd]$', description: 'token lifetime; default 1h' })) },
  { additionalProperties: false },
);
export const PlaybackTokenReply = Type.Object({
  token: Type.String(),
  expiresAt: Type.String({ format: 'date-time' }),
  hlsUrl: Type.String({ description: '/live/{streamId}/t/{token}/master.m3u8' }),
  flvUrl: Type.String({ description: '…/live/{streamId}.flv?token=…' }),
  coverUrl: Type.String(),
});
export type PlaybackTokenReply = Static<typeof PlaybackTokenReply>;
