import type { Kysely } from 'kysely';

export interface ReviewItemRow {
  id: string;
  stream_id: string;
  session_id: string;
  at: number;
  status: string;
  label: string | null;
  score: number | null;
  decided_by: string | null;
  decided_at: number | null;
  reason: string | null;
}

export interface ReviewTables {
  media_review_items: ReviewItemRow;
}

/** SQL for media_review_items only. */
export class ReviewStore {
  constructor(private readonly db: Kysely<ReviewTables>) {}

  async insert(row: ReviewItemRow): Promise<void> {
    await this.db.insertInto('media_review_items').values(row).execute();
  }

  get(id: string): Promise<ReviewItemRow | undefined> {
    return this.db.selectFrom('media_review_items').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(opts: { status?: string; streamId?: string; limit: number }): Promise<ReviewItemRow[]> {
    let q = this.db.selectFrom('media_review_items').selectAll();
    if (opts.status) q = q.where('status', '=', opts.status);
    if (opts.streamId) q = q.where('stream_id', '=', opts.streamId);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  }

  async classify(id: string, label: string, score: number | null): Promise<void> {
    await this.db.updateTable('media_review_items').set({ label, score }).where('id', '=', id).execute();
  }

  /** Decides a pending item only: a second decision finds nothing to update. */
  async decide(id: string, status: string, by: string, at: number, reason: string | null): Promise<boolean> {
    const r = await this.db.updateTable('media_review_items')
      .set({ status, decided_by: by, decided_at: at, reason })
      .where('id', '=', id).where('status', '=', 'pending').executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }
}
