import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql, type Kysely } from 'kysely';
import { openSqlite, type OpenedDatabase } from './sqlite.js';
import { GroupCommit } from './group-commit.js';

const dirs: string[] = [];
const opened: OpenedDatabase<unknown>[] = [];

async function fresh(): Promise<{ db: Kysely<any>; file: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'infra-core-group-'));
  dirs.push(dir);
  const o = openSqlite<unknown>(join(dir, 'g.db'));
  opened.push(o);
  await sql`create table parent (id integer primary key)`.execute(o.db);
  await sql`create table rows (id text primary key, parent integer references parent(id) deferrable initially deferred)`.execute(o.db);
  return { db: o.db as Kysely<any>, file: o.file };
}

/** What another connection sees: only committed rows. */
function committed(file: string): string[] {
  const other = new Database(file, { readonly: true });
  try {
    return (other.prepare('select id from rows order by id').all() as { id: string }[]).map((r) => r.id);
  } finally {
    other.close();
  }
}

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('GroupCommit', () => {
  it('commits units that arrive together in fewer transactions, each resolving only once its write is visible to others', async () => {
    const { db, file } = await fresh();
    const writes = new GroupCommit(db);
    const transactions = new Set<unknown>();
    const seenAtResolve: boolean[] = [];
    const ids = Array.from({ length: 20 }, (_, i) => `r${String(i).padStart(2, '0')}`);
    await Promise.all(ids.map((id) => writes.run(async (trx) => {
      transactions.add(trx);
      await trx.insertInto('rows').values({ id, parent: null }).execute();
      return id;
    }).then((v) => { seenAtResolve.push(committed(file).includes(v)); })));
    expect(committed(file)).toEqual(ids);
    expect(seenAtResolve).toEqual(ids.map(() => true));
    expect(transactions.size).toBeLessThan(ids.length);
  });

  it('rolls back only the unit that throws: it rejects with its own error, the others of its group are written', async () => {
    const { db, file } = await fresh();
    const writes = new GroupCommit(db);
    const transactions = new Set<unknown>();
    const results = await Promise.allSettled(['a', 'b', 'c'].map((id) => writes.run(async (trx) => {
      transactions.add(trx);
      await trx.insertInto('rows').values({ id, parent: null }).execute();
      if (id === 'b') throw new Error('b changed its mind');
      return id;
    })));
    expect(transactions.size).toBe(1); // the three ran in one transaction
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason.message).toBe('b changed its mind');
    expect(committed(file)).toEqual(['a', 'c']);
  });

  it('rejects every unit of a group whose COMMIT fails, and writes none of it', async () => {
    const { db, file } = await fresh();
    const writes = new GroupCommit(db);
    const results = await Promise.allSettled([
      writes.run(async (trx) => { await trx.insertInto('rows').values({ id: 'ok', parent: null }).execute(); }),
      // a deferred foreign key is checked at COMMIT: this unit makes the whole commit fail
      writes.run(async (trx) => { await trx.insertInto('rows').values({ id: 'orphan', parent: 42 }).execute(); }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(committed(file)).toEqual([]);
    // and the handle is usable afterwards
    await writes.run(async (trx) => { await trx.insertInto('rows').values({ id: 'after', parent: null }).execute(); });
    expect(committed(file)).toEqual(['after']);
  });

  it('settles every unit even when a unit wrecks the transaction itself, and the handle works afterwards', async () => {
    const { db, file } = await fresh();
    const writes = new GroupCommit(db);
    const results = await Promise.allSettled([
      writes.run(async (trx) => { await trx.insertInto('rows').values({ id: 'a', parent: null }).execute(); }),
      // ends the whole transaction behind the group's back, then fails: its savepoint is gone with it
      writes.run(async (trx) => { await sql`rollback`.execute(trx); throw new Error('b wrecked it'); }),
    ]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect(committed(file)).toEqual([]);
    await writes.run(async (trx) => { await trx.insertInto('rows').values({ id: 'after', parent: null }).execute(); });
    expect(committed(file)).toEqual(['after']);
  });
});
