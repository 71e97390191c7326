import { Type, type Static } from '@sinclair/typebox';

const Iso = Type.String({ format: 'date-time' });
const UserId = Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'the rider’s user id (the subject of its `rider` token)' });
const MerchantId = Type.Union([Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' }), Type.Null()], { description: 'owning merchant; null = the platform pool' });
export const vehicles = ['foot', 'bicycle', 'ebike', 'scooter', 'motorbike', 'car', 'van'] as const;
const Vehicle = Type.Union(vehicles.map((v) => Type.Literal(v)));
const Skills = Type.Array(Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }), { maxItems: 20, uniqueItems: true, description: 'e.g. cold_chain, alcohol, bulky' });
const Zone = Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()]);

export const CreateRiderBody = Type.Object({
  id: UserId,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  vehicle: Vehicle,
  capacity: Type.Integer({ minimum: 1, maximum: 1000, description: 'how many delivery units the rider carries at once' }),
  skills: Type.Optional(Skills),
  homeZone: Type.Optional(Zone),
  merchantId: Type.Optional(MerchantId),
}, { additionalProperties: false });
export type CreateRiderBody = Static<typeof CreateRiderBody>;

export const UpdateRiderBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  vehicle: Type.Optional(Vehicle),
  capacity: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'never below the current load (409 INFRA_ERR_RIDER_CAPACITY)' })),
  skills: Type.Optional(Skills),
  homeZone: Type.Optional(Zone),
  merchantId: Type.Optional(MerchantId),
}, { additionalProperties: false, minProperties: 1 });
export type UpdateRiderBody = Static<typeof UpdateRiderBody>;

export const RiderView = Type.Object({
  id: Type.String(), name: Type.String(), vehicle: Type.String(), capacity: Type.Integer(), load: Type.Integer(),
  skills: Type.Array(Type.String()), homeZone: Type.Union([Type.String(), Type.Null()]), merchantId: Type.Union([Type.String(), Type.Null()]),
  onDuty: Type.Boolean(), inShift: Type.Boolean({ description: 'inside one of its shifts now (a rider that has no shifts at all counts as in shift)' }),
  createdAt: Iso, updatedAt: Iso,
});
export type RiderView = Static<typeof RiderView>;

export const ListRidersQuery = Type.Object({
  merchantId: Type.Optional(Type.String({ maxLength: 128, description: 'only this merchant’s riders; `pool` = the platform pool' })),
  onDuty: Type.Optional(Type.Boolean()),
  cursor: Type.Optional(Type.String({ maxLength: 128 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
}, { additionalProperties: false });
export type ListRidersQuery = Static<typeof ListRidersQuery>;
export const RiderList = Type.Object({ items: Type.Array(RiderView), nextCursor: Type.Union([Type.String(), Type.Null()]) });

export const RiderParams = Type.Object({ id: Type.String({ maxLength: 128 }) });
export const ShiftParams = Type.Object({ id: Type.String({ maxLength: 128 }), shiftId: Type.String({ maxLength: 64 }) });

export const DutyBody = Type.Object({ onDuty: Type.Boolean() }, { additionalProperties: false });

export const ShiftBody = Type.Object({ start: Iso, end: Iso }, { additionalProperties: false });
export type ShiftBody = Static<typeof ShiftBody>;
export const ShiftView = Type.Object({ id: Type.String(), riderId: Type.String(), start: Iso, end: Iso });
export const ShiftList = Type.Object({ items: Type.Array(ShiftView) });

export const FixView = Type.Object({
  riderId: Type.String(), lat: Type.Number(), lng: Type.Number(),
  speed: Type.Optional(Type.Number()), heading: Type.Optional(Type.Number()), accuracy: Type.Optional(Type.Number()),
  ts: Iso, flagged: Type.Boolean({ description: 'the move from the previous fix implied more than fleet.maxSpeedKmh' }),
});

export const NearbyQuery = Type.Object({
  lat: Type.Number({ minimum: -90, maximum: 90 }),
  lng: Type.Number({ minimum: -180, maximum: 180 }),
  radiusM: Type.Optional(Type.Integer({ minimum: 1, maximum: 50_000, default: 5000 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 200, default: 20 })),
  merchantId: Type.Optional(Type.String({ maxLength: 128, description: 'only this merchant’s riders; `pool` = the platform pool; absent = any' })),
  skills: Type.Optional(Type.String({ maxLength: 400, description: 'comma-separated; the rider must have all of them' })),
}, { additionalProperties: false });
export type NearbyQuery = Static<typeof NearbyQuery>;
export const NearbyList = Type.Object({
  items: Type.Array(Type.Object({
    id: Type.String(), merchantId: Type.Union([Type.String(), Type.Null()]), vehicle: Type.String(), capacity: Type.Integer(), load: Type.Integer(),
    skills: Type.Array(Type.String()), distanceM: Type.Number(), position: FixView,
  })),
});
