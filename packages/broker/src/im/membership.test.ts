import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrateModules, openSqlite, type OpenedDatabase } from '@infra/core';
import { imMigrations } from './index.js';
import { ImStore, type ImTables } from './store.js';
import { MembershipCache } from './membership.js';

const dir = mkdtempSync(join(tmpdir(), 'infra-membership-'));
let database: OpenedDatabase<ImTables>;
let store: ImStore;
beforeAll(async () => {
  database = openSqlite<ImTables>(join(dir, 'im.db'));
  await migrateModules(database.db as never, [imMigrations]);
  store = new ImStore(database.db, database.sqlite);
  for (const [id, members] of [['c1', ['a', 'b']], ['c2', ['a', 'b', 'c']], ['c3', ['d', 'e', 'f', 'g']]] as const) {
    await store.insertConversation({ id, kind: 'group', title: null, created_by: 'a', direct_key: null, last_seq: 0, expires_at: null, created_at: 1 });
    for (const u of members) await store.insertMember({ conv_id: id, user_id: u, role: 'member', joined_seq: 0, read_seq: 0, delivered_seq: 0, muted: 0, joined_at: 1 });
  }
});
afterAll(async () => {
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('MembershipCache (the send path’s conversation facts)', () => {
  it('serves repeated sends from memory until invalidated, and never keeps a load that an invalidation overtook', async () => {
    const cache = new MembershipCache();
    expect((await cache.facts(store, 'c1'))?.audience.sort()).toEqual(['a', 'b']);
    await store.deleteMember('c1', 'b'); // behind the cache's back: still the cached facts
    expect((await cache.facts(store, 'c1'))?.members.has('b')).toBe(true);
    cache.invalidate('c1');
    expect((await cache.facts(store, 'c1'))?.members.has('b')).toBe(false);

    // a load under way when membership changes is returned to its caller but not cached
    const loading = cache.facts(store, 'c2');
    cache.invalidate('c2');
    expect((await loading)?.audience).toHaveLength(3);
    await store.deleteMember('c2', 'c');
    expect((await cache.facts(store, 'c2'))?.audience.sort()).toEqual(['a', 'b']);
    expect(await cache.facts(store, 'nope')).toBeUndefined();
  });

  it('is bounded by member entries: the least recently used conversations go first', async () => {
    const cache = new MembershipCache(8); // c1 (1 member now) = 2, c2 (2) = 3, c3 (4) = 5 entries
    await cache.facts(store, 'c1');
    await cache.facts(store, 'c2');
    await cache.facts(store, 'c1'); // c1 is now the most recent
    await store.insertMember({ conv_id: 'c2', user_id: 'z', role: 'member', joined_seq: 0, read_seq: 0, delivered_seq: 0, muted: 0, joined_at: 1 });
    await cache.facts(store, 'c3'); // 2 + 3 + 5 > 8: c2 (least recent) is dropped
    expect((await cache.facts(store, 'c2'))?.members.has('z')).toBe(true); // reloaded, so it sees z
  });
});
