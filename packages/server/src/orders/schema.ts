import { Type, type Static } from '@sinclair/typebox';

const Iso = Type.String({ format: 'date-time' });
const Money = Type.Integer({ minimum: 0, maximum: 1e12, description: 'integer minor units (cents)' });

export const Address = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 200 }),
  line1: Type.String({ minLength: 1, maxLength: 200 }),
  line2: Type.Optional(Type.String({ maxLength: 200 })),
  city: Type.String({ minLength: 1, maxLength: 100 }),
  postalCode: Type.String({ minLength: 1, maxLength: 20 }),
  country: Type.String({ pattern: '^[A-Z]{2}$', description: 'ISO 3166-1 alpha-2' }),
  phone: Type.Optional(Type.String({ maxLength: 40 })),
}, { additionalProperties: false });

export const CreateOrderBody = Type.Object({
  customer: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'customer user id; required for staff tokens, implied for a user token' })),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$', description: 'ISO 4217; default fulfillment.currency' })),
  warehouse: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'allocate from this warehouse only' })),
  address: Address,
  lines: Type.Array(Type.Object({
    sku: Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' }),
    qty: Type.Integer({ minimum: 1, maximum: 10_000 }),
    unitPrice: Money,
  }, { additionalProperties: false }), { minItems: 1, maxItems: 100 }),
}, { additionalProperties: false });
export type CreateOrderBody = Static<typeof CreateOrderBody>;

export const IdempotencyHeaders = Type.Object({ 'idempotency-key': Type.Optional(Type.String({ minLength: 1, maxLength: 128 })) });

const Transition = Type.Object({ from: Type.Union([Type.String(), Type.Null()]), to: Type.String(), event: Type.String(), actor: Type.String(), actorRole: Type.String(), at: Iso, reason: Type.Union([Type.String(), Type.Null()]) });

export const OrderSummary = Type.Object({
  id: Type.String(), customer: Type.String(), status: Type.String(), currency: Type.String(), subtotal: Type.Integer(), total: Type.Integer(), createdAt: Iso, updatedAt: Iso,
});
export const OrderView = Type.Object({
  ...OrderSummary.properties,
  address: Address,
  warehouse: Type.Union([Type.String(), Type.Null()]),
  lines: Type.Array(Type.Object({ sku: Type.String(), qty: Type.Integer(), unitPrice: Type.Integer(), lineTotal: Type.Integer() })),
  allocations: Type.Array(Type.Object({ sku: Type.String(), warehouse: Type.String(), location: Type.String(), lot: Type.String(), qty: Type.Integer(), status: Type.String() })),
  shipments: Type.Array(Type.Object({ id: Type.String(), warehouse: Type.String(), kind: Type.Union([Type.Literal('original'), Type.Literal('reship')]), status: Type.String(), carrier: Type.Union([Type.String(), Type.Null()]), trackingNumber: Type.Union([Type.String(), Type.Null()]) })),
  payments: Type.Array(Type.Object({ id: Type.String(), provider: Type.String(), amount: Type.Integer(), currency: Type.String(), status: Type.String(), reference: Type.String(), at: Iso })),
  history: Type.Array(Transition),
  allowedEvents: Type.Array(Type.String(), { description: 'events the caller may fire now' }),
});
export type OrderView = Static<typeof OrderView>;

export const OrderEventBody = Type.Object({
  event: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$' }),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
  payment: Type.Optional(Type.Object({ provider: Type.Optional(Type.String({ maxLength: 32 })), reference: Type.Optional(Type.String({ maxLength: 128 })) }, { additionalProperties: false })),
  shipping: Type.Optional(Type.Object({ carrier: Type.String({ minLength: 1, maxLength: 64 }), trackingNumber: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false })),
}, { additionalProperties: false });
export type OrderEventBody = Static<typeof OrderEventBody>;

export const ListOrdersQuery = Type.Object({
  status: Type.Optional(Type.String({ maxLength: 64 })),
  customer: Type.Optional(Type.String({ maxLength: 128 })),
  cursor: Type.Optional(Type.String({ maxLength: 64 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
}, { additionalProperties: false });
export type ListOrdersQuery = Static<typeof ListOrdersQuery>;
export const OrderList = Type.Object({ items: Type.Array(OrderSummary), nextCursor: Type.Union([Type.String(), Type.Null()]) });
export const OrderParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const ShipmentParams = Type.Object({ id: Type.String({ maxLength: 64 }), shipmentId: Type.String({ maxLength: 64 }) });
export const ShipBody = Type.Object({ carrier: Type.String({ minLength: 1, maxLength: 64 }), trackingNumber: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false });
