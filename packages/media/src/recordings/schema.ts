import { Type, type Static } from '@sinclair/typebox';

export const AssetIdParam = Type.Object({ assetId: Type.String({ pattern: '^vod_[0-9a-z]{26}$' }) }, { additionalProperties: false });
export type AssetIdParam = Static<typeof AssetIdParam>;

export const AssetQuery = Type.Object(
  { streamId: Type.Optional(Type.String({ pattern: '^st_[0-9a-z]{26}$' })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
  { additionalProperties: false },
);
export type AssetQuery = Static<typeof AssetQuery>;

export const AssetReply = Type.Object({
  id: Type.String(),
  streamId: Type.String(),
  sessionId: Type.String(),
  durationMs: Type.Integer(),
  sizeBytes: Type.Integer(),
  url: Type.String({ description: 'MP4 with faststart: /vod/{assetId}/index.mp4' }),
  posterUrl: Type.Union([Type.String(), Type.Null()]),
  startedAt: Type.String({ format: 'date-time' }),
  endedAt: Type.String({ format: 'date-time' }),
  createdAt: Type.String({ format: 'date-time' }),
});
export type AssetReply = Static<typeof AssetReply>;

export const AssetList = Type.Object({ assets: Type.Array(AssetReply) });
