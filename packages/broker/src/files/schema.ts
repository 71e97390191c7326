import { Type, type Static, type TSchema } from '@sinclair/typebox';

const Id = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' });
const closed = <T extends Record<string, TSchema>>(props: T) => Type.Object(props, { additionalProperties: false });

export const FileInfoSchema = Type.Object({
  id: Type.String(),
  kind: Type.Union([Type.Literal('image'), Type.Literal('video'), Type.Literal('audio'), Type.Literal('file')]),
  mime: Type.String({ description: 'sniffed from the bytes, never the client’s claim' }),
  size: Type.Integer(),
  name: Type.String(),
  status: Type.Union([Type.Literal('processing'), Type.Literal('ready'), Type.Literal('failed')], { description: 'derivatives are made after the upload answered' }),
  convId: Type.Optional(Type.String()),
  uploaderId: Type.String(),
  createdAt: Type.String({ format: 'date-time' }),
  url: Type.String({ description: 'gateway path of the bytes' }),
  thumbnailUrl: Type.Optional(Type.String({ description: 'JPEG thumbnail (image) or cover frame (video)' })),
  audioUrl: Type.Optional(Type.String({ description: 'AAC (m4a) transcode of an audio file' })),
  width: Type.Optional(Type.Integer()),
  height: Type.Optional(Type.Integer()),
  durationMs: Type.Optional(Type.Integer()),
  error: Type.Optional(Type.String()),
});

export const FileParams = closed({ fileId: Id });
export const UploadQuery = closed({ convId: Type.Optional(Id) });

export const CreatePackBody = closed({ name: Type.String({ minLength: 1, maxLength: 100 }) });
export type CreatePackBody = Static<typeof CreatePackBody>;
export const PackParams = closed({ packId: Id });
export const StickerQuery = closed({ name: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })) });

export const StickerSchema = Type.Object({ id: Type.String(), name: Type.Optional(Type.String()), fileId: Type.String(), url: Type.String() });
export const StickerPackSchema = Type.Object({ id: Type.String(), name: Type.String(), createdAt: Type.String({ format: 'date-time' }), stickers: Type.Array(StickerSchema) });
export const StickerPackList = Type.Object({ packs: Type.Array(StickerPackSchema) });
