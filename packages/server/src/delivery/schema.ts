import { Type, type Static } from '@sinclair/typebox';

const Iso = Type.String({ format: 'date-time' });
const LatLng = Type.Object({ lat: Type.Number(), lng: Type.Number() });

export const Proof = Type.Object({
  code: Type.Optional(Type.String({ pattern: '^[0-9]{6}$', description: 'the one-time code the customer got with delivery.assigned on orders/{orderId}' })),
  recipientName: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  photoFileId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,128}$', description: 'an uploaded file id (IM files)' })),
}, { additionalProperties: false });

export const DeliveryEventBody = Type.Object({
  event: Type.String({ pattern: '^[a-z][a-z0-9_]{0,63}$', description: 'start, pick_up, deliver, customer_absent, address_wrong, … (the flow\'s events)' }),
  reason: Type.Optional(Type.String({ maxLength: 500 })),
  proof: Type.Optional(Proof),
}, { additionalProperties: false });
export type DeliveryEventBody = Static<typeof DeliveryEventBody>;

const Transition = Type.Object({ from: Type.Union([Type.String(), Type.Null()]), to: Type.String(), event: Type.String(), actor: Type.String(), actorRole: Type.String(), at: Iso, reason: Type.Union([Type.String(), Type.Null()]) });

export const DeliveryView = Type.Object({
  id: Type.String(), jobId: Type.String(), orderId: Type.String(), riderId: Type.String(), customer: Type.Union([Type.String(), Type.Null()]),
  status: Type.String(), pickup: LatLng, dropoff: LatLng,
  proofPolicy: Type.String(),
  code: Type.Optional(Type.String({ description: 'the one-time code: shown to the customer and staff, never to the rider' })),
  proof: Type.Union([Type.Object({ code: Type.Boolean(), recipientName: Type.Union([Type.String(), Type.Null()]), photoFileId: Type.Union([Type.String(), Type.Null()]) }), Type.Null()]),
  history: Type.Array(Transition),
  allowedEvents: Type.Array(Type.String()),
  createdAt: Iso, updatedAt: Iso, finishedAt: Type.Union([Iso, Type.Null()]),
});
export type DeliveryView = Static<typeof DeliveryView>;
export const DeliveryList = Type.Object({ items: Type.Array(DeliveryView) });
export const DeliveryQuery = Type.Object({
  order: Type.Optional(Type.String({ maxLength: 64 })), job: Type.Optional(Type.String({ maxLength: 64 })), rider: Type.Optional(Type.String({ maxLength: 128 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 50 })),
}, { additionalProperties: false });
export type DeliveryQuery = Static<typeof DeliveryQuery>;
export const DeliveryParams = Type.Object({ id: Type.String({ maxLength: 64 }) });

const Spread = Type.Object({
  samples: Type.Integer({ description: 'predictions whose leg is done' }),
  p50Minutes: Type.Union([Type.Number(), Type.Null()]),
  p90Minutes: Type.Union([Type.Number(), Type.Null()]),
});
export const EtaAccuracy = Type.Object({ ...Spread.properties, pickup: Spread, dropoff: Spread });
