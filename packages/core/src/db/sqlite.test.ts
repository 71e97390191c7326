import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { sql, type Kysely, type Migration } from 'kysely';
import { migrateModules, openSqlite, type ModuleMigrations, type OpenedDatabase } from './sqlite.js';

const dirs: string[] = [];
const opened: OpenedDatabase<unknown>[] = [];

function tempDb(name = 'test.db'): string {
  const dir = mkdtempSync(join(tmpdir(), 'infra-core-sqlite-'));
  dirs.push(dir);
  return join(dir, name);
}

function open(file: string): OpenedDatabase<unknown> {
  const o = openSqlite<unknown>(file);
  opened.push(o);
  return o;
}

afterEach(async () => {
  for (const o of opened.splice(0)) await o.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function pragma(db: Kysely<unknown>, name: string): Promise<unknown> {
  const { rows } = await sql<Record<string, unknown>>`${sql.raw(`PRAGMA ${name}`)}`.execute(db);
  return Object.values(rows[0] ?? {})[0];
}

describe('openSqlite', () => {
  it('creates the file and its missing parent directories', async () => {
    const file = join(tempDb(), '..', 'nested', 'deeper', 'x.db');
    const { db } = open(file);
    await sql`CREATE TABLE t (id INTEGER PRIMARY KEY)`.execute(db);
    expect(existsSync(file)).toBe(true);
  });

  it('sets WAL, synchronous=NORMAL, busy_timeout and foreign keys on the connection', async () => {
    const { db } = open(tempDb());
    expect(await pragma(db, 'journal_mode')).toBe('wal');
    expect(await pragma(db, 'foreign_keys')).toBe(1);
    expect(await pragma(db, 'synchronous')).toBe(1); // NORMAL
    expect(await pragma(db, 'busy_timeout')).toBe(5000);
  });

  it("creates new files with 2 KiB pages and leaves an existing file's page size alone", async () => {
    const { db } = open(tempDb());
    expect(await pragma(db, 'page_size')).toBe(2048);
    const old = tempDb('old.db');
    const raw = new Database(old);
    raw.pragma('page_size = 4096');
    raw.exec('create table t (x)');
    raw.close();
    expect(await pragma(open(old).db, 'page_size')).toBe(4096);
  });

  it('enforces foreign keys', async () => {
    const { db } = open(tempDb());
    await sql`CREATE TABLE parent (id INTEGER PRIMARY KEY)`.execute(db);
    await sql`CREATE TABLE child (id INTEGER PRIMARY KEY, parent_id INTEGER NOT NULL REFERENCES parent(id))`.execute(db);
    await expect(sql`INSERT INTO child (id, parent_id) VALUES (1, 42)`.execute(db)).rejects.toThrow(/FOREIGN KEY/);
  });

  it('leaves the file in WAL mode for the next opener, and close() releases it', async () => {
    const file = tempDb();
    const o = openSqlite<unknown>(file);
    await sql`CREATE TABLE t (v TEXT)`.execute(o.db);
    await sql`INSERT INTO t (v) VALUES ('kept')`.execute(o.db);
    await o.close();
    const raw = new Database(file);
    try {
      expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
      expect(raw.prepare('SELECT v FROM t').pluck().all()).toEqual(['kept']);
    } finally {
      raw.close();
    }
  });

  it('a reader sees committed rows while another connection holds a write transaction (WAL)', async () => {
    const file = tempDb();
    const { db } = open(file);
    await sql`CREATE TABLE t (v INTEGER)`.execute(db);
    await sql`INSERT INTO t (v) VALUES (1)`.execute(db);
    const writer = new Database(file);
    try {
      writer.exec('BEGIN IMMEDIATE; INSERT INTO t (v) VALUES (2);');
      const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM t`.execute(db);
      expect(rows[0]?.n).toBe(1);
      writer.exec('COMMIT');
    } finally {
      writer.close();
    }
  });
});

const createTable = (table: string, extra = ''): Migration => ({
  up: async (db: Kysely<any>) => {
    await sql`${sql.raw(`CREATE TABLE ${table} (id INTEGER PRIMARY KEY${extra})`)}`.execute(db);
  },
});

function tablesOf(file: string): string[] {
  const raw = new Database(file, { readonly: true });
  try {
    return raw.prepare(`SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'kysely_%' AND name NOT LIKE 'sqlite_%' ORDER BY name`).pluck().all() as string[];
  } finally {
    raw.close();
  }
}

describe('the statement cache', () => {
  interface T { items: { id: number; name: string; extra?: string | null } }

  it('reuses statements across parameters and stays right after the schema changes', async () => {
    const { db } = open(tempDb()) as unknown as OpenedDatabase<T>;
    await db.schema.createTable('items').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('name', 'text').execute();
    for (let i = 1; i <= 300; i++) await db.insertInto('items').values({ id: i, name: `n${i}` }).execute();
    for (const i of [1, 150, 300]) {
      expect(await db.selectFrom('items').selectAll().where('id', '=', i).executeTakeFirst()).toEqual({ id: i, name: `n${i}` });
    }
    await sql`alter table items add column extra text`.execute(db);
    await db.updateTable('items').set({ extra: 'x' }).where('id', '=', 2).execute();
    expect(await db.selectFrom('items').selectAll().where('id', '=', 2).executeTakeFirst()).toEqual({ id: 2, name: 'n2', extra: 'x' });
  });

  it('frees a streamed select for the next run of the same query', async () => {
    const { db } = open(tempDb()) as unknown as OpenedDatabase<T>;
    await db.schema.createTable('items').addColumn('id', 'integer', (c) => c.primaryKey()).addColumn('name', 'text').execute();
    await db.insertInto('items').values([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]).execute();
    const q = db.selectFrom('items').select(['id', 'name']).orderBy('id');
    const seen: unknown[] = [];
    for await (const row of q.stream()) seen.push(row);
    expect(seen).toEqual([{ id: 1, name: 'a' }, { id: 2, name: 'b' }]);
    expect(await q.execute()).toEqual(seen);
    for await (const row of q.stream()) {
      if ((row as { id: number }).id === 1) break; // leave a stream early: the statement must not stay busy
    }
    expect(await q.execute()).toEqual(seen);
  });
});

describe('migrateModules', () => {
  const modules: ModuleMigrations[] = [
    { module: 'orders', migrations: { '0001_init': createTable('orders'), '0002_lines': createTable('order_lines', ', order_id INTEGER REFERENCES orders(id)') } },
    { module: 'wms', migrations: { '0001_init': createTable('stock') } },
  ];

  it('applies every module’s migrations once, named by module', async () => {
    const file = tempDb();
    const { db } = open(file);
    const applied = await migrateModules(db, modules);
    expect(applied.sort()).toEqual(['orders/0001_init', 'orders/0002_lines', 'wms/0001_init']);
    expect(tablesOf(file)).toEqual(['order_lines', 'orders', 'stock']);
    const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
    expect(rows.map((r) => r.name)).toEqual(['orders/0001_init', 'orders/0002_lines', 'wms/0001_init']);
  });

  it('a second run applies nothing, also after reopening the file', async () => {
    const file = tempDb();
    const first = open(file);
    await migrateModules(first.db, modules);
    expect(await migrateModules(first.db, modules)).toEqual([]);
    await first.close();
    const second = open(file);
    expect(await migrateModules(second.db, modules)).toEqual([]);
  });

  it('a migration added later (even one sorting earlier) is applied on the next run', async () => {
    const file = tempDb();
    const { db } = open(file);
    await migrateModules(db, [{ module: 'wms', migrations: { '0001_init': createTable('stock') } }]);
    const applied = await migrateModules(db, [...modules, { module: 'aftersales', migrations: { '0001_init': createTable('returns') } }]);
    expect(applied.sort()).toEqual(['aftersales/0001_init', 'orders/0001_init', 'orders/0002_lines']);
    expect(tablesOf(file)).toEqual(['order_lines', 'orders', 'returns', 'stock']);
  });

  it('no modules is a no-op', async () => {
    const { db } = open(tempDb());
    expect(await migrateModules(db, [])).toEqual([]);
  });

  it('a failing migration rejects with its error and is not recorded', async () => {
    const file = tempDb();
    const { db } = open(file);
    const failing: ModuleMigrations = {
      module: 'orders',
      migrations: {
        '0001_init': createTable('orders'),
        '0002_broken': {
          up: async (d: Kysely<any>) => {
            await sql`CREATE TABLE broken (`.execute(d);
          },
        },
      },
    };
    await expect(migrateModules(db, [failing])).rejects.toThrow(/syntax error|incomplete input/);
    const { rows } = await sql<{ name: string }>`SELECT name FROM kysely_migration ORDER BY name`.execute(db);
    expect(rows.map((r) => r.name)).not.toContain('orders/0002_broken');
    // a fixed migration goes through on the next run
    const fixed: ModuleMigrations = { module: 'orders', migrations: { '0001_init': createTable('orders'), '0002_broken': createTable('broken') } };
    const applied = await migrateModules(db, [fixed]);
    expect(applied).toContain('orders/0002_broken');
  });

  it('an error thrown by a migration function rejects with that error', async () => {
    const { db } = open(tempDb());
    const boom = new Error('boom');
    const failing: ModuleMigrations = { module: 'im', migrations: { '0001_init': { up: () => Promise.reject(boom) } } };
    await expect(migrateModules(db, [failing])).rejects.toBe(boom);
  });
});

describe('write transactions', () => {
  it('begin IMMEDIATE: another connection cannot commit between their read and their write and make them fail', async () => {
    const file = tempDb();
    const { db } = open(file);
    await sql`create table kv (k text primary key, v integer not null)`.execute(db);
    await sql`insert into kv values ('a', 1)`.execute(db);
    const other = new Database(file);
    other.pragma('busy_timeout = 0');
    const codes: (string | undefined)[] = [];
    const readThenWrite = async (trx: Kysely<unknown>): Promise<void> => {
      const { rows } = await sql<{ v: number }>`select v from kv where k = 'a'`.execute(trx);
      try {
        other.prepare(`update kv set v = v + 100 where k = 'a'`).run();
        codes.push('committed');
      } catch (err) {
        codes.push((err as { code?: string }).code);
      }
      await sql`update kv set v = ${rows[0]!.v + 1} where k = 'a'`.execute(trx);
    };
    // DEFERRED would let the other connection commit here, then refuse this write with SQLITE_BUSY_SNAPSHOT
    await db.transaction().execute(readThenWrite);
    const trx = await db.startTransaction().execute(); // the way GroupCommit opens its groups
    await readThenWrite(trx);
    await trx.commit().execute();
    other.close();
    expect(codes).toEqual(['SQLITE_BUSY', 'SQLITE_BUSY']); // the other writer had to wait for the lock instead
    const { rows } = await sql<{ v: number }>`select v from kv`.execute(db);
    expect(rows[0]!.v).toBe(3);
  });
});

describe('background checkpoints', () => {
  it('copy committed pages into the database file while it is open, without a checkpoint on the writer', async () => {
    const file = tempDb();
    const { db } = open(file);
    await sql`CREATE TABLE blobs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`.execute(db);
    // ~600 KB in 150 commits: far below the writer's own threshold (16,000 pages), so only the worker moves it
    for (let i = 0; i < 150; i++) await sql`INSERT INTO blobs (body) VALUES (${'x'.repeat(4000)})`.execute(db);
    const deadline = Date.now() + 5000;
    while (statSync(file).size < 500_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(statSync(file).size).toBeGreaterThan(500_000);
    // and the data is all there through the writer's handle
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM blobs`.execute(db);
    expect(rows[0]!.n).toBe(150);
  });

  it('restart the WAL under sustained writes, so it never reaches the writer\'s own checkpoint threshold (a stall on the event loop)', async () => {
    const file = tempDb();
    const { db } = open(file);
    await sql`CREATE TABLE blobs (id INTEGER PRIMARY KEY, body TEXT NOT NULL)`.execute(db);
    // about 48 MB of pages in commits of one row, ten to the millisecond at most (a server under sustained load, the
    // event loop turning between them): without a restart the WAL grows to the writer's threshold (16,000 pages,
    // 32 MB; 31.6 MB measured before) and that COMMIT checkpoints on the event loop
    let walMax = 0;
    const body = 'x'.repeat(1500);
    for (let i = 0; i < 24_000; i++) {
      await sql`INSERT INTO blobs (body) VALUES (${body})`.execute(db);
      if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
      if (i % 200 === 0) walMax = Math.max(walMax, existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
    }
    // restarted from the top every few thousand pages (4,096, plus what the thread had yet to copy): 17 MB measured
    expect(walMax).toBeLessThan(24 * 1024 * 1024);
    const { rows } = await sql<{ n: number }>`SELECT count(*) AS n FROM blobs`.execute(db);
    expect(rows[0]!.n).toBe(24_000);
  });
});
