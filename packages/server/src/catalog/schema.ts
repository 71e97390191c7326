import { Type, type Static } from '@sinclair/typebox';

const Code = Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}$' });
const Sku = Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' });

/** The WMS part of a template's seed/*.yaml (other pillars own the other top-level keys). */
export const SeedFile = Type.Object({
  warehouses: Type.Optional(Type.Array(Type.Object({ code: Code, name: Type.String({ minLength: 1 }) }, { additionalProperties: false }))),
  locations: Type.Optional(Type.Array(Type.Object({ warehouse: Code, path: Type.String({ pattern: '^[A-Za-z0-9_-]{1,16}/[A-Za-z0-9_-]{1,16}/[A-Za-z0-9_-]{1,16}$', description: 'zone/aisle/bin' }) }, { additionalProperties: false }))),
  skus: Type.Optional(Type.Array(Type.Object({
    sku: Sku, name: Type.String({ minLength: 1 }), price: Type.Optional(Type.Integer({ minimum: 0 })), currency: Type.Optional(Type.String({ pattern: '^[A-Z]{3}$' })),
    lotTracked: Type.Optional(Type.Boolean()), serialTracked: Type.Optional(Type.Boolean()),
  }, { additionalProperties: false }))),
  stock: Type.Optional(Type.Array(Type.Object({
    sku: Sku, location: Type.String({ pattern: '^[A-Za-z0-9_-]{1,32}:[A-Za-z0-9_-]{1,16}/[A-Za-z0-9_-]{1,16}/[A-Za-z0-9_-]{1,16}$' }), qty: Type.Integer({ minimum: 1 }),
    lot: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,64}$' })), expiresAt: Type.Optional(Type.String({ description: 'a date, e.g. 2027-04-30' })), serials: Type.Optional(Type.Array(Type.String())),
  }, { additionalProperties: false }))),
});
export type SeedFile = Static<typeof SeedFile>;
export const seedKeys = ['warehouses', 'locations', 'skus', 'stock'] as const;
