import { sql, type Kysely, type Transaction } from 'kysely';

interface Pending<DB> {
  work: (trx: Transaction<DB>) => Promise<unknown>;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit for one SQLite database: write transactions that arrive while another is being written
 * are run one after another inside ONE database transaction, each in its own savepoint, and committed
 * together. On this kind of machine a commit costs more than the statements of a typical transaction
 * (WAL frame writes, then checkpoints), so under concurrency this cuts the cost per transaction several
 * times; alone, a transaction is written exactly as `db.transaction()` would.
 *
 * The contract for each caller is unchanged: its promise resolves only after the commit that made its
 * writes durable, and a unit that throws is rolled back to its savepoint (its writes are gone, the
 * others' stay) and rejects with its own error. A failed COMMIT rejects every unit of the group.
 * A unit must use only the `trx` it is given: waiting on the database handle itself inside a unit
 * would wait for the group it is part of.
 */
export class GroupCommit<DB> {
  private readonly queue: Pending<DB>[] = [];
  private running = false;

  constructor(
    private readonly db: Kysely<DB>,
    /** units per group at most: bounds how long the first unit of a group waits for the last */
    private readonly maxGroup = 32,
  ) {}

  run<T>(work: (trx: Transaction<DB>) => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.running) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.running = true;
    try {
      while (this.queue.length > 0) await this.group();
    } finally {
      this.running = false;
    }
  }

  /**
   * One transaction: the units queued now, then (after one turn of the event loop, so requests already
   * read from their sockets can queue theirs) the units queued meanwhile, up to `maxGroup`; then COMMIT.
   * Without that turn nothing would ever join: better-sqlite3 answers synchronously, so a whole unit runs
   * in microtasks and no other request is parsed while it does.
   */
  private async group(): Promise<void> {
    let trx;
    try {
      trx = await this.db.startTransaction().execute();
    } catch (err) {
      for (const unit of this.queue.splice(0, this.maxGroup)) unit.reject(err);
      return;
    }
    const done: { unit: Pending<DB>; value: unknown }[] = [];
    let current: Pending<DB> | undefined; // taken from the queue, not yet settled
    try {
      let taken = 0;
      let waited = false;
      while (taken < this.maxGroup) {
        const unit = this.queue.shift();
        if (!unit) {
          if (waited) break;
          waited = true;
          await new Promise((resolve) => setImmediate(resolve));
          continue;
        }
        taken++;
        current = unit;
        await sql`savepoint group_unit`.execute(trx);
        let value: unknown;
        try {
          value = await unit.work(trx);
        } catch (err) {
          current = undefined;
          unit.reject(err);
          await sql`rollback to savepoint group_unit`.execute(trx);
          await sql`release savepoint group_unit`.execute(trx);
          continue;
        }
        await sql`release savepoint group_unit`.execute(trx);
        current = undefined;
        done.push({ unit, value });
      }
      await trx.commit().execute();
    } catch (err) {
      // the group could not be written (disk full, I/O error): none of it is durable
      await trx.rollback().execute().catch(() => undefined);
      current?.reject(err);
      for (const { unit } of done) unit.reject(err);
      return;
    }
    for (const { unit, value } of done) unit.resolve(value);
  }
}
