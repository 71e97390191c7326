import { Type, type Static } from '@sinclair/typebox';

export const Severity = Type.Union([Type.Literal('low'), Type.Literal('medium'), Type.Literal('high')]);
export const ResolveAction = Type.Union(['retry', 'cancel', 'refund', 'reship', 'none'].map((a) => Type.Literal(a)));

export const ExceptionView = Type.Object({
  id: Type.String(),
  type: Type.String({ description: 'payment_timeout, allocation_failed, stock_discrepancy, manual, …' }),
  severity: Severity,
  entity: Type.Object({ type: Type.String(), id: Type.String() }),
  status: Type.Union([Type.Literal('open'), Type.Literal('assigned'), Type.Literal('resolved')]),
  assignee: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Union([Type.String(), Type.Null()]),
  resolution: Type.Union([Type.String(), Type.Null()]),
  note: Type.Union([Type.String(), Type.Null()]),
  occurrences: Type.Integer(),
  actions: Type.Array(Type.String(), { description: 'the resolve actions this exception can take (`none` always; others when the module owning the entity carries them out)' }),
  ageSeconds: Type.Integer(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  comments: Type.Optional(Type.Array(Type.Object({ author: Type.String(), body: Type.String(), at: Type.String({ format: 'date-time' }) }))),
});
export type ExceptionView = Static<typeof ExceptionView>;

export const RaiseBody = Type.Object({
  type: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  severity: Type.Optional(Severity),
  entity: Type.Object({ type: Type.String({ pattern: '^[a-z][a-z0-9_]{0,31}$' }), id: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
  detail: Type.Optional(Type.String({ maxLength: 2000 })),
}, { additionalProperties: false });
export type RaiseBody = Static<typeof RaiseBody>;

export const ListQuery = Type.Object({
  status: Type.Optional(Type.Union([Type.Literal('open'), Type.Literal('assigned'), Type.Literal('resolved')])),
  type: Type.Optional(Type.String({ maxLength: 64 })),
  entity: Type.Optional(Type.String({ maxLength: 128 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
}, { additionalProperties: false });
export type ListQuery = Static<typeof ListQuery>;

export const ExceptionList = Type.Object({ items: Type.Array(ExceptionView), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const AssignBody = Type.Object({ assignee: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
export const CommentBody = Type.Object({ body: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
export const ResolveBody = Type.Object({ action: ResolveAction, note: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: false });
export type ResolveBody = Static<typeof ResolveBody>;
