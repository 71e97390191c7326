import { Type, type Static } from '@sinclair/typebox';

const Iso = Type.String({ format: 'date-time' });
const Id = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' });
export const LatLng = Type.Object({
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lng: Type.Number({ minimum: -180, maximum: 180 }),
}, { additionalProperties: false });
export const Strategy = Type.Union([Type.Literal('nearest'), Type.Literal('batch'), Type.Literal('grab')]);
export const ProofPolicy = Type.Union([Type.Literal('code'), Type.Literal('name'), Type.Literal('photo')], {
  description: 'what the rider must give to deliver: code = the one-time code the customer got; name = a recipient name (or the code); photo = a photo file id and a recipient name (or the code)',
});

export const CreateJobBody = Type.Object({
  orderId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:-]{1,64}$', description: 'the order this delivery is for: delivery events go to orders/{orderId}, and its customer is the one tracked. Without it the job id stands in.' })),
  customer: Type.Optional(Type.String({ ...Id, description: 'the customer user id (default: the order\'s customer); they are granted the rider\'s position while the delivery runs' })),
  merchantId: Type.Optional(Type.String({ ...Id, description: 'the merchant whose riders get the job first (dispatch.merchantFallback: then the platform pool)' })),
  zone: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$', description: 'a dispatch.zones id; default: the first zone containing the pickup' })),
  pickup: LatLng,
  dropoff: LatLng,
  units: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 1, description: 'capacity units the job takes on a rider' })),
  skills: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }), { maxItems: 10, description: 'skills a rider needs (e.g. cold_chain)' })),
  proof: Type.Optional(ProofPolicy),
}, { additionalProperties: false });
export type CreateJobBody = Static<typeof CreateJobBody>;

export const OfferView = Type.Object({
  id: Type.String(), jobId: Type.String(), riderId: Type.String(),
  status: Type.Union(['pending', 'accepted', 'rejected', 'expired', 'withdrawn'].map((s) => Type.Literal(s))),
  createdAt: Iso, expiresAt: Iso, answeredAt: Type.Union([Iso, Type.Null()]),
  pickup: LatLng, dropoff: LatLng,
});
export type OfferView = Static<typeof OfferView>;

export const JobView = Type.Object({
  id: Type.String(), orderId: Type.String(), customer: Type.Union([Type.String(), Type.Null()]), merchantId: Type.Union([Type.String(), Type.Null()]),
  zone: Type.String(), strategy: Strategy, pickup: LatLng, dropoff: LatLng, units: Type.Integer(), skills: Type.Array(Type.String()), proof: ProofPolicy,
  status: Type.Union(['pooled', 'offered', 'assigned', 'delivered', 'failed', 'cancelled'].map((s) => Type.Literal(s))),
  riderId: Type.Union([Type.String(), Type.Null()]),
  offers: Type.Array(OfferView),
  createdAt: Iso, updatedAt: Iso,
});
export type JobView = Static<typeof JobView>;

export const DecisionView = Type.Object({
  jobId: Type.String(), riderId: Type.Union([Type.String(), Type.Null()]), strategy: Type.String(),
  outcome: Type.String({ description: 'pooled | assigned | offered | accepted | rejected | expired | withdrawn | skipped_full | no_rider | fallback | released' }),
  distanceM: Type.Union([Type.Number(), Type.Null()]), load: Type.Union([Type.Integer(), Type.Null()]), capacity: Type.Union([Type.Integer(), Type.Null()]),
  score: Type.Union([Type.Number(), Type.Null()], { description: 'the cost the strategy minimised (travel seconds, plus the load penalty in batch)' }),
  reason: Type.String(), at: Iso,
});
export const DecisionList = Type.Object({ items: Type.Array(DecisionView) });
export const DecisionQuery = Type.Object({ job: Type.String({ minLength: 1, maxLength: 64 }), limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 200 })) }, { additionalProperties: false });
export const OfferList = Type.Object({ items: Type.Array(OfferView) });
export const OfferQuery = Type.Object({ rider: Type.Optional(Type.String({ maxLength: 128, description: 'staff only: whose open offers' })) }, { additionalProperties: false });
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const OfferReply = Type.Object({ offerId: Type.String({ maxLength: 64 }), accept: Type.Boolean() }, { additionalProperties: false });
export type OfferReply = Static<typeof OfferReply>;
