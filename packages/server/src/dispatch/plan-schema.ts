import { Type, type Static } from '@sinclair/typebox';

/** The contract of POST /api/v1/dispatch/plan (route planning). Every object is closed: unknown fields are refused. */

const closed = { additionalProperties: false } as const;
const Id = Type.String({ minLength: 1, maxLength: 64, description: 'your id, echoed in the answer' });
export const LatLng = Type.Object({ lat: Type.Number({ minimum: -90, maximum: 90 }), lng: Type.Number({ minimum: -180, maximum: 180 }) }, closed);
const Iso = Type.String({ format: 'date-time', description: 'ISO 8601 time' });
export const Window = Type.Object({ start: Iso, end: Iso }, { ...closed, description: 'service must start within [start, end] (arriving earlier means waiting)' });
const Skills = Type.Array(Type.String({ minLength: 1, maxLength: 32 }), { maxItems: 16, uniqueItems: true });
const ServiceS = Type.Number({ minimum: 0, maximum: 86400, default: 0, description: 'seconds spent at the stop' });

export const PlanVehicle = Type.Object(
  {
    id: Id,
    start: LatLng,
    end: Type.Optional(Type.Union([LatLng, Type.Null()], { description: 'where the shift ends (default: start)' })),
    capacity: Type.Number({ minimum: 0, description: 'units it carries at once' }),
    skills: Type.Optional(Skills),
    shift: Window,
    maxTrips: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'trips per shift: above 1 it may return to its start to unload and reload (multi-trip)' })),
    reloadS: Type.Optional(Type.Number({ minimum: 0, maximum: 86400, default: 300, description: 'seconds a reload at the start takes' })),
    steps: Type.Optional(
      Type.Array(
        Type.Object({ job: Id, type: Type.Optional(Type.Union([Type.Literal('pickup'), Type.Literal('delivery')], { description: 'for a shipment: which half' })) }, closed),
        { maxItems: 1000, description: 'steps already started or committed, in order: the plan keeps them first (re-planning a route under way); a shipment whose pickup is listed but not its delivery gets its delivery right after them' },
      ),
    ),
  },
  closed,
);

const Stop = Type.Object({ location: LatLng, window: Type.Optional(Window), serviceS: Type.Optional(ServiceS) }, closed);

export const PlanJob = Type.Union([
  Type.Object(
    {
      id: Id,
      type: Type.Literal('delivery', { description: 'goods loaded at the vehicle\'s start (or a reload) and dropped here' }),
      location: LatLng,
      demand: Type.Optional(Type.Number({ minimum: 0, default: 1 })),
      window: Type.Optional(Window),
      serviceS: Type.Optional(ServiceS),
      skills: Type.Optional(Skills),
    },
    closed,
  ),
  Type.Object(
    {
      id: Id,
      type: Type.Literal('shipment', { description: 'picked up at pickup, dropped at delivery, by one vehicle' }),
      pickup: Stop,
      delivery: Stop,
      demand: Type.Optional(Type.Number({ minimum: 0, default: 1 })),
      skills: Type.Optional(Skills),
    },
    closed,
  ),
]);

export const PlanBody = Type.Object(
  {
    vehicles: Type.Array(PlanVehicle, { minItems: 1 }),
    jobs: Type.Array(PlanJob),
    timeLimitMs: Type.Optional(Type.Integer({ minimum: 10, description: 'solver time; capped at routing.maxTimeLimitMs (default routing.timeLimitMs)' })),
    seed: Type.Optional(Type.Integer({ minimum: 0, maximum: 2 ** 31 - 1, default: 1, description: 'same seed and problem, same search' })),
  },
  closed,
);
export type PlanBody = Static<typeof PlanBody>;
export type PlanJob = Static<typeof PlanJob>;
export type PlanVehicle = Static<typeof PlanVehicle>;

const Step = Type.Object(
  {
    type: Type.Union([Type.Literal('start'), Type.Literal('delivery'), Type.Literal('pickup'), Type.Literal('dropoff'), Type.Literal('reload'), Type.Literal('end')], { description: 'dropoff: the delivery half of a shipment' }),
    job: Type.Optional(Id),
    location: LatLng,
    arrival: Iso,
    serviceStart: Iso,
    departure: Iso,
    load: Type.Number({ description: 'on board when it leaves the stop' }),
    fixed: Type.Optional(Type.Boolean({ description: 'a started step kept from the request' })),
  },
  closed,
);

export const PlanRoute = Type.Object(
  {
    vehicle: Id,
    steps: Type.Array(Step),
    trips: Type.Integer({ description: 'trips driven (reloads + 1)' }),
    travelS: Type.Number({ description: 'seconds driving' }),
    distanceM: Type.Number({ description: 'metres driving (straight line times routing.detourFactor, or OSRM\'s)' }),
  },
  closed,
);

export const PlanAnswer = Type.Object(
  {
    routes: Type.Array(PlanRoute, { description: 'one per vehicle that has work, in the request\'s order' }),
    unassigned: Type.Array(
      Type.Object(
        {
          job: Id,
          reason: Type.Union([Type.Literal('skills'), Type.Literal('capacity'), Type.Literal('time_window'), Type.Literal('no_room')], {
            description: 'skills: no vehicle has them; capacity: larger than every able vehicle; time_window: no able vehicle reaches it in time even alone; no_room: feasible alone, but not with the rest in the time limit',
          }),
        },
        closed,
      ),
    ),
    cost: Type.Object({ travelS: Type.Number(), distanceM: Type.Number(), vehicles: Type.Integer() }, closed),
    matrix: Type.Union([Type.Literal('haversine'), Type.Literal('osrm')]),
    timeMs: Type.Integer({ description: 'solver wall time' }),
  },
  closed,
);
export type PlanAnswer = Static<typeof PlanAnswer>;
