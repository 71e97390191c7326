import { Type, type Static } from '@sinclair/typebox';

export const ReviewStatus = Type.Union([Type.Literal('pending'), Type.Literal('approved'), Type.Literal('warned'), Type.Literal('cut')]);
export type ReviewStatus = Static<typeof ReviewStatus>;

export const ReviewItemParam = Type.Object({ itemId: Type.String({ pattern: '^rv_[0-9a-z]{26}$' }) }, { additionalProperties: false });

export const ReviewQuery = Type.Object(
  { status: Type.Optional(ReviewStatus), streamId: Type.Optional(Type.String({ pattern: '^st_[0-9a-z]{26}$' })), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })) },
  { additionalProperties: false },
);
export type ReviewQuery = Static<typeof ReviewQuery>;

export const ReviewItem = Type.Object({
  id: Type.String(),
  streamId: Type.String(),
  sessionId: Type.String(),
  at: Type.String({ format: 'date-time' }),
  status: ReviewStatus,
  frameUrl: Type.String({ description: 'the sampled frame (JPEG), same auth as this API' }),
  label: Type.Union([Type.String(), Type.Null()]),
  score: Type.Union([Type.Number(), Type.Null()]),
  decidedBy: Type.Union([Type.String(), Type.Null()]),
  reason: Type.Union([Type.String(), Type.Null()]),
});
export type ReviewItem = Static<typeof ReviewItem>;

export const ReviewList = Type.Object({ items: Type.Array(ReviewItem) });

export const DecisionBody = Type.Object(
  { decision: Type.Union([Type.Literal('approve'), Type.Literal('warn'), Type.Literal('cut')]), reason: Type.Optional(Type.String({ maxLength: 500 })) },
  { additionalProperties: false },
);
export type DecisionBody = Static<typeof DecisionBody>;
