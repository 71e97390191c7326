import { CompiledQuery, type Compilable, type Kysely, type QueryResult } from 'kysely';

/** a value no caller can pass: marks where a named parameter goes in the compiled query */
const MARK = '\u0000infra.param\u0000';

/** where each compiled parameter comes from: a named parameter, or a constant the query was written with */
type Slot = { name: string } | { value: unknown };

interface Compiled {
  sql: string;
  slots: Slot[];
}

/**
 * A query written with Kysely once and compiled once, then executed many times with new values.
 * Building and compiling a Kysely query costs more than SQLite takes to run most of our statements
 * (about 20 µs per insert on this machine), so the statements on hot paths are prepared: `build` writes
 * the query with `p('name')` where a value goes (`p.row([...])` for an insert's row), and `execute(db, params)` binds the values in order.
 * The SQL stays Kysely's (portable, typed against the tables); it is compiled per dialect.
 *
 * Only for queries whose shape does not depend on the values (no `in (list)`, no optional clauses).
 */
export class Prepared<DB, P extends object, R = unknown> {
  private readonly compiled = new WeakMap<object, Compiled>();

  constructor(private readonly build: (db: Kysely<DB>, p: Params<P>) => Compilable<R>) {}

  async execute(db: Kysely<DB>, params: P): Promise<QueryResult<R>> {
    const c = this.compiledFor(db);
    const values = params as Record<string, unknown>;
    const parameters = c.slots.map((s) => ('name' in s ? values[s.name] : s.value));
    return await db.executeQuery<R>(CompiledQuery.raw(c.sql, parameters) as CompiledQuery<R>);
  }

  /**
   * The SQL for `db`'s dialect, for code that prepares the statement on a raw SQLite handle and binds positionally
   * itself: checked to bind exactly the named values `order`, in that order (a constant in the query is refused).
   */
  positional(db: Kysely<DB>, order: readonly (keyof P & string)[]): string {
    const c = this.compiledFor(db);
    const names = c.slots.map((s) => ('name' in s ? s.name : '(a constant)'));
    if (names.join() !== order.join()) throw new Error(`prepared query binds ${names.join(', ')}, not ${order.join(', ')}: ${c.sql}`);
    return c.sql;
  }

  private compiledFor(db: Kysely<DB>): Compiled {
    // the adapter is the dialect: a transaction shares its database's, so one compile serves both
    const dialect = db.getExecutor().adapter;
    let c = this.compiled.get(dialect);
    if (!c) {
      c = this.compile(db);
      this.compiled.set(dialect, c);
    }
    return c;
  }

  private compile(db: Kysely<DB>): Compiled {
    const names = new Set<string>();
    const p = (<K extends keyof P & string>(name: K): P[K] => {
      names.add(name);
      return `${MARK}${name}` as P[K];
    }) as Params<P>;
    p.row = <K extends keyof P & string>(keys: readonly K[]): Pick<P, K> => {
      const row = {} as Pick<P, K>;
      for (const k of keys) row[k] = p(k);
      return row;
    };
    const { sql, parameters } = this.build(db, p).compile();
    const used = new Set<string>();
    const slots = parameters.map((v): Slot => {
      if (typeof v === 'string' && v.startsWith(MARK)) {
        const name = v.slice(MARK.length);
        used.add(name);
        return { name };
      }
      return { value: v };
    });
    // a parameter that does not reach the SQL would be silently ignored: a programming error, caught on first use
    const lost = [...names].filter((n) => !used.has(n));
    if (lost.length) throw new Error(`prepared query lost parameter(s) ${lost.join(', ')}: ${sql}`);
    return { sql, slots };
  }
}

/** `p('name')` stands for a value in the query; `p.row(['a', 'b'])` for a whole row of an insert (one value per column) */
export interface Params<P> {
  <K extends keyof P & string>(name: K): P[K];
  row<K extends keyof P & string>(keys: readonly K[]): Pick<P, K>;
}
