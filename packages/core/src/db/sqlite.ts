import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { CompiledQuery, Kysely, Migrator, SqliteDialect, type DatabaseConnection, type Dialect, type Driver, type Migration, type MigrationProvider } from 'kysely';
import { checkpointInBackground } from './checkpointer.js';

export type { Kysely } from 'kysely';

/** A module's migrations, keyed by a sortable name (`0001_init`). They live beside the module. */
export interface ModuleMigrations {
  module: string;
  migrations: Record<string, Migration>;
}

export interface OpenedDatabase<DB> {
  db: Kysely<DB>;
  /**
   * The better-sqlite3 handle under `db`, for a module's hottest statements prepared once and run synchronously
   * (the IM send path). Use it only while a Kysely transaction or connection of `db` is held: it shares that lock.
   */
  sqlite: Database.Database;
  file: string;
  close(): Promise<void>;
}

/**
 * Page size of new database files. Our write transactions are small (an order touches a leaf page in some fifteen
 * tables and indexes) and a commit appends every page it dirtied to the WAL, which a checkpoint then copies again:
 * with SQLite's default 4 KiB pages an order wrote 142 KiB and made 62 write calls; with 2 KiB pages, 41 KiB and 33
 * (order creation through the gateway, /proc/self/io, 2,000 orders at 8 concurrent).
 */
const PAGE_SIZE = 2048;

/**
 * The writer's own checkpoint threshold (pages, 32 MiB at 2 KiB), a safety net behind the background checkpoints.
 * At 4,000 pages a burst of commits outran the background thread now and then, and the commit that crossed the
 * threshold checkpointed on the event loop: bench:orders at 1,000 req/s had p99 18-19 ms; at 16,000 pages, 9-11 ms.
 */
const WAL_AUTOCHECKPOINT_PAGES = 16000;

/**
 * Opens (creating) a SQLite file with the settings the whole project relies on:
 * WAL so readers never block the writer, synchronous=NORMAL (durable at checkpoints, fast commits),
 * a busy timeout instead of SQLITE_BUSY errors, foreign keys enforced, and WAL checkpoints on a worker thread
 * (checkpointer.ts) rather than inside a commit on the event loop.
 */
export function openSqlite<DB>(file: string): OpenedDatabase<DB> {
  mkdirSync(dirname(file), { recursive: true });
  const sqlite = new Database(file);
  sqlite.pragma(`page_size = ${PAGE_SIZE}`); // takes effect only when the file is new
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma('synchronous = NORMAL');
  sqlite.pragma('busy_timeout = 5000');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
  const db = new Kysely<DB>({ dialect: immediateTransactions(new SqliteDialect({ database: withStatementCache(sqlite) })) });
  // Kysely's SQLite driver has one connection behind a mutex: holding it, no statement (nor transaction) of ours runs
  const stopCheckpoints = checkpointInBackground(file, (work) => db.connection().execute(() => work()));
  return {
    db,
    sqlite,
    file,
    // The worker's connection closes first; Kysely's destroy then closes the last handle, which checkpoints the WAL.
    close: async () => {
      await stopCheckpoints();
      await db.destroy();
    },
  };
}

/**
 * Kysely's SQLite transactions begin DEFERRED: the write lock is taken at the first write. When another connection
 * commits between a transaction's first read and its first write (a worker thread writing the same file, `infra seed`
 * while the stack runs), SQLite cannot upgrade the stale snapshot and the transaction fails (SQLITE_BUSY_SNAPSHOT),
 * busy timeout or not. Our transactions are writes, so they begin IMMEDIATE: the lock is taken first and another
 * writer waits (busy_timeout) instead of an accepted request failing.
 */
function immediateTransactions(dialect: Dialect): Dialect {
  return {
    createAdapter: () => dialect.createAdapter(),
    createIntrospector: (db) => dialect.createIntrospector(db),
    createQueryCompiler: () => dialect.createQueryCompiler(),
    createDriver: (): Driver => {
      const driver = dialect.createDriver();
      driver.beginTransaction = async (connection: DatabaseConnection): Promise<void> => {
        await connection.executeQuery(CompiledQuery.raw('begin immediate'));
      };
      return driver;
    },
  };
}

const STATEMENT_CACHE_SIZE = 500;

/**
 * Kysely's SQLite driver calls `prepare(sql)` for every query, and preparing costs more than running most
 * of our statements. The same handle, with `prepare` answered from a bounded cache keyed by the SQL text
 * (Kysely binds values as parameters, so the text repeats). A statement still being iterated (a streamed
 * select) is never handed out twice: that one call gets a fresh statement.
 */
function withStatementCache(sqlite: Database.Database): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    const hit = cache.get(sql);
    if (hit && !hit.busy) return hit;
    const stmt = sqlite.prepare(sql);
    if (!hit) {
      cache.set(sql, stmt);
      // first in, first out: our statements are a few hundred fixed texts, so the bound is rarely reached
      if (cache.size > STATEMENT_CACHE_SIZE) cache.delete(cache.keys().next().value as string);
    }
    return stmt;
  };
  return new Proxy(sqlite, {
    get(target, prop, receiver) {
      if (prop === 'prepare') return prepare;
      const value: unknown = Reflect.get(target, prop, receiver);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/**
 * Runs every module's pending migrations in one migrator, names prefixed by module
 * (`orders/0001_init`), so modules own their tables but share one history table.
 */
export async function migrateModules(db: Kysely<unknown>, modules: ModuleMigrations[]): Promise<string[]> {
  const all: Record<string, Migration> = {};
  for (const m of modules) {
    for (const [name, migration] of Object.entries(m.migrations)) all[`${m.module}/${name}`] = migration;
  }
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(all) };
  const migrator = new Migrator({ db, provider, allowUnorderedMigrations: true });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
