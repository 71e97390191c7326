import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateModules, openSqlite, topics, type BusMessage, type EventBus } from '@infra/core';
import { sql } from 'kysely';
import { m0001 } from './migrations/0001_init.js';
import { outboxMigrations } from './index.js';
import { outboxStore, type OutboxTables } from './store.js';
import { address, seedBasics, startFulfillment } from '../testing/fulfillment-harness.js';

/** An EventBus that records what reaches it (the real one is the embedded broker, covered end to end in the CLI tests). */
function recordingBus(opts: { failFirst?: number; failTopic?: string } = {}): EventBus & { seen: { topic: string; payload: Record<string, unknown> }[] } {
  let failures = opts.failFirst ?? 0;
  const seen: { topic: string; payload: Record<string, unknown> }[] = [];
  return {
    seen,
    async publish(topic, payload) {
      if (failures > 0 && (opts.failTopic === undefined || topic === opts.failTopic)) {
        failures--;
        throw new Error('broker unavailable');
      }
      seen.push({ topic, payload: JSON.parse(String(payload)) as Record<string, unknown> });
    },
    async subscribe(_filter: string, _handler: (m: BusMessage) => void) {
      return async () => undefined;
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'infra-outbox-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function waitFor(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('outbox', () => {
  it('without a bus rows wait; the next start with a bus delivers them in order per order', async () => {
    const a = await startFulfillment({ dir });
    const admin = await a.token('admin', 'admin');
    await seedBasics(a, admin, [{ sku: 'MUG', qty: 10 }]);
    const o1 = (await a.call('POST', '/orders', { token: admin, body: { customer: 'c1', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } })).body.id as string;
    const o2 = (await a.call('POST', '/orders', { token: admin, body: { customer: 'c2', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } })).body.id as string;
    for (const event of ['pay', 'allocate', 'start_picking']) await a.call('POST', `/orders/${o1}/events`, { token: admin, body: { event } });
    await a.call('POST', `/orders/${o2}/events`, { token: admin, body: { event: 'cancel' } });
    // a rejected request writes no event
    expect((await a.call('POST', `/orders/${o2}/events`, { token: admin, body: { event: 'pay' } })).status).toBe(409);
    await a.close();

    const bus = recordingBus();
    const b = await startFulfillment({ dir, bus });
    await waitFor(() => bus.seen.filter((m) => m.topic.startsWith('orders/')).length === 6);
    const of = (id: string) => bus.seen.filter((m) => m.topic === topics.order(id)).map((m) => m.payload['to'] ?? m.payload['type']);
    expect(of(o1)).toEqual(['order.created', 'paid', 'allocated', 'picking']);
    expect(of(o2)).toEqual(['order.created', 'cancelled']);
    expect(bus.seen.some((m) => m.topic === topics.wmsStock('MUG'))).toBe(true);
    await b.close();
  });

  it('a failing bus is retried: at-least-once, still in order', async () => {
    const bus = recordingBus({ failFirst: 2 });
    const h = await startFulfillment({ dir, bus });
    const admin = await h.token('admin', 'admin');
    const id = (await h.call('POST', '/orders', { token: admin, body: { customer: 'c3', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } })).body.id as string;
    await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event: 'pay' } });
    await waitFor(() => bus.seen.filter((m) => m.topic === topics.order(id)).length >= 2);
    expect(bus.seen.filter((m) => m.topic === topics.order(id)).map((m) => m.payload['type'])).toEqual(['order.created', 'order.status']);
    await h.close();
  });

  it('an entity whose publish fails waits alone: the others in its batch go once, and it follows in order on retry', async () => {
    const d = mkdtempSync(join(tmpdir(), 'infra-outbox-'));
    try {
      const a = await startFulfillment({ dir: d });
      const admin = await a.token('admin', 'admin');
      await seedBasics(a, admin, [{ sku: 'MUG', qty: 10 }]);
      const ids: string[] = [];
      for (const c of ['c1', 'c2', 'c3']) ids.push((await a.call('POST', '/orders', { token: admin, body: { customer: c, address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } })).body.id as string);
      await a.call('POST', `/orders/${ids[0]}/events`, { token: admin, body: { event: 'pay' } });
      await a.close();

      // one batch holds all three orders' rows; the first order's topic fails twice
      const bus = recordingBus({ failFirst: 2, failTopic: topics.order(ids[0]!) });
      const b = await startFulfillment({ dir: d, bus });
      await waitFor(() => bus.seen.filter((m) => m.topic === topics.order(ids[0]!)).length >= 2, 8000);
      await new Promise((r) => setTimeout(r, 300));
      const of = (id: string) => bus.seen.filter((m) => m.topic === topics.order(id)).map((m) => m.payload['to'] ?? m.payload['type']);
      expect(of(ids[0]!)).toEqual(['order.created', 'paid']);
      expect(of(ids[1]!)).toEqual(['order.created']); // published before the retry, not again
      expect(of(ids[2]!)).toEqual(['order.created']);
      await b.close();
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  });

  it('upgrading from per-row stamps: the cursor starts before the first row not yet published', async () => {
    const d = mkdtempSync(join(tmpdir(), 'infra-outbox-'));
    const o = openSqlite<OutboxTables>(join(d, 'o.db'));
    try {
      await migrateModules(o.db as never, [{ module: 'outbox', migrations: { '0001_init': m0001 } }]);
      for (const [i, at] of [[1, 100], [2, 100], [3, null], [4, 100], [5, null]] as const) {
        await sql`insert into outbox (id, entity, topic, payload, created_at, published_at) values (${i}, 'e', 't', '{}', 1, ${at})`.execute(o.db);
      }
      await migrateModules(o.db as never, [outboxMigrations]);
      expect(await outboxStore.cursor(o.db)).toBe(2);
      expect((await outboxStore.pending(o.db, 2, 10)).map((r) => r.id)).toEqual([3, 4, 5]);
      expect(await outboxStore.countPending(o.db)).toBe(3);
    } finally {
      await o.close();
      rmSync(d, { recursive: true, force: true });
    }
  });
});
