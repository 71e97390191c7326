import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql, type Kysely } from 'kysely';
import { openSqlite, type OpenedDatabase } from './sqlite.js';
import { Prepared } from './prepared.js';

interface Tables {
  items: { id: string; qty: number; note: string | null; kind: string };
}

const dirs: string[] = [];
const opened: OpenedDatabase<Tables>[] = [];
afterEach(async () => {
  for (const o of opened.splice(0)) await o.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function fresh(): Promise<Kysely<Tables>> {
  const dir = mkdtempSync(join(tmpdir(), 'infra-core-prepared-'));
  dirs.push(dir);
  const o = openSqlite<Tables>(join(dir, 'p.db'));
  opened.push(o);
  await sql`create table items (id text primary key, qty integer not null, note text, kind text not null)`.execute(o.db);
  return o.db;
}

const insert = new Prepared<Tables, Tables['items']>((db, p) => db.insertInto('items').values(p.row(['id', 'qty', 'note', 'kind'])));
// a constant written into the query ('std') stays a bound constant; the same name used twice binds twice
const take = new Prepared<Tables, { id: string; qty: number }>((db, p) =>
  db.updateTable('items').set((eb) => ({ qty: eb('qty', '-', p('qty')) })).where('id', '=', p('id')).where('kind', '=', 'std').where('qty', '>=', p('qty')));
const byKind = new Prepared<Tables, { kind: string }, Tables['items']>((db, p) => db.selectFrom('items').selectAll().where('kind', '=', p('kind')).orderBy('id'));

describe('Prepared', () => {
  it('runs the query Kysely would, with each execution binding its own values (inside a transaction too)', async () => {
    const db = await fresh();
    await insert.execute(db, { id: 'a', qty: 5, note: null, kind: 'std' });
    await db.transaction().execute(async (trx) => {
      await insert.execute(trx, { id: 'b', qty: 2, note: "it's", kind: 'std' });
      await insert.execute(trx, { id: 'c', qty: 9, note: 'x', kind: 'bulk' });
    });
    expect((await byKind.execute(db, { kind: 'std' })).rows).toEqual([{ id: 'a', qty: 5, note: null, kind: 'std' }, { id: 'b', qty: 2, note: "it's", kind: 'std' }]);
    expect((await byKind.execute(db, { kind: 'bulk' })).rows.map((r) => r.id)).toEqual(['c']);

    expect(Number((await take.execute(db, { id: 'a', qty: 3 })).numAffectedRows)).toBe(1);
    expect(Number((await take.execute(db, { id: 'a', qty: 3 })).numAffectedRows)).toBe(0); // only 2 left
    expect(Number((await take.execute(db, { id: 'c', qty: 1 })).numAffectedRows)).toBe(0); // not 'std'
    const left = await db.selectFrom('items').select(['id', 'qty']).orderBy('id').execute();
    expect(left).toEqual([{ id: 'a', qty: 2 }, { id: 'b', qty: 2 }, { id: 'c', qty: 9 }]);
  });

  it('gives its SQL for binding on the raw handle, checked to bind the named values in the order given; a constant is refused there', async () => {
    const db = await fresh();
    expect(insert.positional(db, ['id', 'qty', 'note', 'kind'])).toMatch(/^insert into "items"/);
    expect(() => insert.positional(db, ['qty', 'id', 'note', 'kind'])).toThrow(/binds id, qty, note, kind, not qty, id/);
    const byIdQty = new Prepared<Tables, { id: string; qty: number }>((d, p) => d.updateTable('items').set({ qty: p('qty') }).where('id', '=', p('id')));
    expect(byIdQty.positional(db, ['qty', 'id'])).toMatch(/^update "items"/);
    expect(() => take.positional(db, ['qty', 'id', 'qty'])).toThrow(/\(a constant\)/); // its 'std'
  });

  it('refuses, on first use, a query that drops a named value', async () => {
    const db = await fresh();
    const lossy = new Prepared<Tables, { id: string; kind: string }>((d, p) => {
      p('kind'); // asked for, never placed in the query
      return d.selectFrom('items').selectAll().where('id', '=', p('id'));
    });
    await expect(lossy.execute(db, { id: 'a', kind: 'std' })).rejects.toThrow(/lost parameter\(s\) kind/);
  });
});
