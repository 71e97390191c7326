import { Type, type Static } from '@sinclair/typebox';

const Code = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' });
export const SkuCode = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$', description: 'stock keeping unit' });
const Lot = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });
export const LocationRef = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{1,16}/[A-Za-z0-9_-]{1,16}/[A-Za-z0-9_-]{1,16}$', description: 'WAREHOUSE:zone/aisle/bin, e.g. WH1:A/01/01' });
const Qty = Type.Integer({ minimum: 1, maximum: 1_000_000 });
const Iso = Type.String({ format: 'date-time' });

export const WarehouseBody = Type.Object({ code: Code, name: Type.String({ minLength: 1, maxLength: 200 }) }, { additionalProperties: false });
export type WarehouseBody = Static<typeof WarehouseBody>;
export const WarehouseView = Type.Object({ id: Type.String(), code: Type.String(), name: Type.String() });
export const WarehouseList = Type.Object({ items: Type.Array(WarehouseView) });

const Segment = Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}$' });
export const LocationBody = Type.Object({ warehouse: Code, zone: Segment, aisle: Segment, bin: Segment }, { additionalProperties: false });
export type LocationBody = Static<typeof LocationBody>;
export const LocationView = Type.Object({ id: Type.String(), warehouse: Type.String(), code: Type.String(), ref: Type.String(), zone: Type.String(), aisle: Type.String(), bin: Type.String() });
export const LocationQuery = Type.Object({ warehouse: Code }, { additionalProperties: false });
export const LocationList = Type.Object({ items: Type.Array(LocationView) });

export const SkuBody = Type.Object({
  sku: SkuCode,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  lotTracked: Type.Optional(Type.Boolean({ default: false })),
  serialTracked: Type.Optional(Type.Boolean({ default: false })),
  price: Type.Optional(Type.Integer({ minimum: 0, description: 'list price in minor units' })),
  currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
}, { additionalProperties: false });
export type SkuBody = Static<typeof SkuBody>;
export const SkuView = Type.Object({ sku: Type.String(), name: Type.String(), lotTracked: Type.Boolean(), serialTracked: Type.Boolean(), price: Type.Union([Type.Integer(), Type.Null()]), currency: Type.Union([Type.String(), Type.Null()]) });
export type SkuView = Static<typeof SkuView>;
export const SkuList = Type.Object({ items: Type.Array(SkuView) });

export const ReceiptLine = Type.Object({
  sku: SkuCode,
  qty: Qty,
  lot: Type.Optional(Lot),
  expiresAt: Type.Optional(Iso),
  serials: Type.Optional(Type.Array(Lot, { maxItems: 10_000 })),
}, { additionalProperties: false });
export type ReceiptLine = Static<typeof ReceiptLine>;
export const ReceiptBody = Type.Object({ warehouse: Code, reference: Type.Optional(Type.String({ maxLength: 128 })), lines: Type.Array(ReceiptLine, { minItems: 1, maxItems: 500 }) }, { additionalProperties: false });
export type ReceiptBody = Static<typeof ReceiptBody>;
export const PutawayBody = Type.Object({
  lines: Type.Optional(Type.Array(Type.Object({ line: Type.Integer({ minimum: 0 }), location: LocationRef }, { additionalProperties: false }), { maxItems: 500 })),
}, { additionalProperties: false });
export type PutawayBody = Static<typeof PutawayBody>;
export const ReceiptView = Type.Object({
  id: Type.String(), warehouse: Type.String(), reference: Type.Union([Type.String(), Type.Null()]), status: Type.Union([Type.Literal('expected'), Type.Literal('put_away')]),
  lines: Type.Array(Type.Object({ sku: Type.String(), qty: Type.Integer(), lot: Type.Optional(Type.String()), expiresAt: Type.Optional(Type.String()), serials: Type.Optional(Type.Array(Type.String())), location: Type.Optional(Type.String()) })),
});
export type ReceiptView = Static<typeof ReceiptView>;

export const AdjustBody = Type.Object({
  sku: SkuCode, location: LocationRef, lot: Type.Optional(Lot),
  qty: Type.Integer({ minimum: -1_000_000, maximum: 1_000_000, not: { const: 0 }, description: 'signed change of on-hand' }),
  reason: Type.String({ minLength: 1, maxLength: 500 }),
}, { additionalProperties: false });
export type AdjustBody = Static<typeof AdjustBody>;
export const CountBody = Type.Object({ sku: SkuCode, location: LocationRef, lot: Type.Optional(Lot), counted: Type.Integer({ minimum: 0, maximum: 1_000_000 }) }, { additionalProperties: false });
export type CountBody = Static<typeof CountBody>;
export const CountReply = Type.Object({ sku: Type.String(), location: Type.String(), lot: Type.String(), expected: Type.Integer(), counted: Type.Integer(), variance: Type.Integer(), exception: Type.Union([Type.String(), Type.Null()]) });
export const MoveBody = Type.Object({ sku: SkuCode, from: LocationRef, to: LocationRef, lot: Type.Optional(Lot), qty: Qty }, { additionalProperties: false });
export type MoveBody = Static<typeof MoveBody>;

export const StockQuery = Type.Object({ sku: SkuCode, warehouse: Type.Optional(Code) }, { additionalProperties: false });
const Levels = { onHand: Type.Integer(), reserved: Type.Integer(), available: Type.Integer() };
export const StockView = Type.Object({
  sku: Type.String(), ...Levels,
  byLocation: Type.Array(Type.Object({ warehouse: Type.String(), location: Type.String(), lot: Type.String(), expiresAt: Type.Union([Iso, Type.Null()]), ...Levels })),
  byLot: Type.Array(Type.Object({ lot: Type.String(), ...Levels })),
});
export type StockView = Static<typeof StockView>;

export const TraceQuery = Type.Object({ lot: Type.Optional(Lot), serial: Type.Optional(Lot), sku: Type.Optional(SkuCode) }, { additionalProperties: false, minProperties: 1 });
export type TraceQuery = Static<typeof TraceQuery>;
export const MovementView = Type.Object({
  id: Type.Integer(), at: Iso, sku: Type.String(), warehouse: Type.String(), location: Type.String(), lot: Type.String(), serial: Type.Union([Type.String(), Type.Null()]),
  qty: Type.Integer(), kind: Type.String(), actor: Type.String(), reason: Type.Union([Type.String(), Type.Null()]),
  document: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]),
});
export const TraceView = Type.Object({ movements: Type.Array(MovementView) });
export const IdParams = Type.Object({ id: Type.String({ maxLength: 64 }) });
export const OkReply = Type.Object({ ok: Type.Boolean() });

export const WaveBody = Type.Object({ warehouse: Code, orders: Type.Array(Type.String({ maxLength: 64 }), { minItems: 1, maxItems: 500 }) }, { additionalProperties: false });
export type WaveBody = Static<typeof WaveBody>;
export const ScanBody = Type.Object({
  sku: SkuCode, location: LocationRef, qty: Type.Optional(Qty),
  serials: Type.Optional(Type.Array(Lot, { minItems: 1, maxItems: 1000, description: 'serial-tracked SKUs: the serials scanned, one per unit (qty defaults to their count)' })),
}, { additionalProperties: false });
export type ScanBody = Static<typeof ScanBody>;
export const WaveView = Type.Object({
  id: Type.String(), warehouse: Type.String(), status: Type.Union([Type.Literal('open'), Type.Literal('picked')]),
  tasks: Type.Array(Type.Object({ id: Type.Integer(), order: Type.String(), sku: Type.String(), location: Type.String(), lot: Type.String(), qty: Type.Integer(), picked: Type.Integer(), pickedBy: Type.Union([Type.String(), Type.Null()]), serials: Type.Array(Type.String()) })),
});
export type WaveView = Static<typeof WaveView>;

export const QuarantineBody = Type.Object({ sku: SkuCode, lot: Lot, quarantined: Type.Boolean(), reason: Type.Optional(Type.String({ maxLength: 500 })) }, { additionalProperties: false });
export type QuarantineBody = Static<typeof QuarantineBody>;
export const QuarantineReply = Type.Object({ sku: Type.String(), lot: Type.String(), quarantined: Type.Boolean() });
