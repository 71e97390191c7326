import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { migrateModules, openSqlite, type OpenedDatabase } from '@infra/core';
import { imMigrations } from './index.js';
import { BodyCipher } from './cipher.js';
import { ImStore, type ImTables } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'infra-im-store-'));
let database: OpenedDatabase<ImTables>;
let store: ImStore;
/** a second connection to the same file: sees only what was committed */
let witness: Database.Database;
beforeAll(async () => {
  database = openSqlite<ImTables>(join(dir, 'im.db'));
  await migrateModules(database.db as never, [imMigrations]);
  store = new ImStore(database.db, database.sqlite, new BodyCipher(`k1:${'s'.repeat(40)}`));
  await store.insertConversation({ id: 'c1', kind: 'direct', title: null, created_by: 'a', direct_key: 'a|b', last_seq: 0, expires_at: null, created_at: 1 });
  witness = new Database(join(dir, 'im.db'), { readonly: true });
});
afterAll(async () => {
  witness.close();
  await database.close();
  rmSync(dir, { recursive: true, force: true });
});

const message = (seq: number, clientMsgId: string) => ({ conv_id: 'c1', seq, sender_id: 'a', client_msg_id: clientMsgId, type: 'text', body: JSON.stringify({ text: clientMsgId }), created_at: 2, edited_at: null, recalled_at: null });
const committed = (clientMsgId: string) => witness.prepare('select seq, body, key_id from im_messages where client_msg_id = ?').get(clientMsgId) as { seq: number; body: string; key_id: string | null } | undefined;

describe('ImStore send statements (prepared on the SQLite handle, run synchronously)', () => {
  it('run only inside a transaction: outside one they would bypass Kysely’s lock on the connection', () => {
    expect(() => store.claimSeqs('c1', 1)).toThrow(/inside ImStore.transaction/);
    expect(() => store.insertMessage(message(1, 'outside'))).toThrow(/inside ImStore.transaction/);
    expect(committed('outside')).toBeUndefined();
  });

  it('write inside the Kysely transaction: nothing is visible before its commit, and a failed batch leaves nothing', async () => {
    await expect(store.transaction(async (tx) => {
      expect(tx.claimSeqs('c1', 1)).toBe(1);
      expect(tx.insertMessage(message(1, 'rolled-back'))).toBeTypeOf('number');
      throw new Error('storage failed mid-batch');
    })).rejects.toThrow('storage failed mid-batch');
    expect(committed('rolled-back')).toBeUndefined();
    expect((witness.prepare('select last_seq from im_conversations where id = ?').get('c1') as { last_seq: number }).last_seq).toBe(0);

    let seenInside: unknown = 'not looked';
    await store.transaction(async (tx) => {
      const last = tx.claimSeqs('c1', 2)!;
      tx.insertMessage(message(last - 1, 'm1'));
      tx.insertMessage(message(last, 'm2'));
      seenInside = committed('m1');
    });
    expect(seenInside).toBeUndefined();
    // sealed at rest, readable back in clear through the store
    expect(committed('m1')).toMatchObject({ seq: 1, key_id: 'k1' });
    expect(committed('m1')!.body).not.toContain('m1');
    expect(committed('m2')?.seq).toBe(2);
    await store.transaction(async (tx) => {
      expect(tx.messageByClientId('c1', 'a', 'm2')?.body).toBe(JSON.stringify({ text: 'm2' }));
      // a resend hits the dedup index: nothing inserted
      expect(tx.insertMessage(message(3, 'm2'))).toBeUndefined();
    });
  });

  it('keep another Kysely transaction out while a batch is open (they share the one connection)', async () => {
    const order: string[] = [];
    let release!: () => void;
    const batch = store.transaction(async (tx) => {
      const last = tx.claimSeqs('c1', 1)!;
      order.push('batch claimed');
      await new Promise<void>((r) => (release = r));
      tx.insertMessage(message(last, 'held'));
      order.push('batch inserted');
    });
    await new Promise((r) => setTimeout(r, 10));
    const other = store.transaction(async (tx) => {
      order.push('other started');
      expect(tx.claimSeqs('c1', 1)).toBe(4);
    });
    await new Promise((r) => setTimeout(r, 20));
    release();
    await Promise.all([batch, other]);
    expect(order).toEqual(['batch claimed', 'batch inserted', 'other started']);
    expect(committed('held')?.seq).toBe(3);
  });
});
