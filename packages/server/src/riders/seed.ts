import { Type, type Static } from '@sinclair/typebox';
import type { Kysely } from 'kysely';
import { riderStore, type RiderDb } from './store.js';
import { vehicles } from './schema.js';

/** The `riders:` key of a template's seed/*.yaml. */
export const RiderSeedList = Type.Array(Type.Object({
  id: Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$', description: 'the rider’s user id' }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  capacity: Type.Integer({ minimum: 1, maximum: 1000 }),
  vehicle: Type.Optional(Type.Union(vehicles.map((v) => Type.Literal(v)), { description: 'default bicycle' })),
  skills: Type.Optional(Type.Array(Type.String({ pattern: '^[a-z0-9_-]{1,32}$' }), { maxItems: 20, uniqueItems: true })),
  homeZone: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  hub: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'the hub the rider starts from; used as its home zone when homeZone is absent' })),
  merchantId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.:@-]{1,128}$' })),
}, { additionalProperties: false }));
export type RiderSeedList = Static<typeof RiderSeedList>;

/** Creates the riders that do not exist yet (off duty, load 0); existing ones are kept as they are. */
export async function seedRiders(db: Kysely<any>, riders: RiderSeedList, now = Date.now()): Promise<{ created: number; skipped: number }> {
  let created = 0;
  for (const x of riders) {
    const done = await db.transaction().execute(async (trx) => {
      if (await riderStore.rider(trx as RiderDb, x.id)) return false;
      await riderStore.insert(trx as RiderDb, {
        id: x.id, name: x.name, vehicle: x.vehicle ?? 'bicycle', capacity: x.capacity, load: 0, skills: JSON.stringify(x.skills ?? []),
        home_zone: x.homeZone ?? x.hub ?? null, merchant_id: x.merchantId ?? null, on_duty: 0, created_at: now, updated_at: now,
      });
      return true;
    });
    if (done) created++;
  }
  return { created, skipped: riders.length - created };
}
