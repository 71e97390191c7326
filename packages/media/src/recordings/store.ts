import type { Kysely } from 'kysely';

export interface AssetRow {
  id: string;
  stream_id: string;
  session_id: string;
  file: string;
  duration_ms: number;
  size_bytes: number;
  has_poster: number;
  started_at: number;
  ended_at: number;
  created_at: number;
}

export interface RecordingTables {
  media_assets: AssetRow;
}

/** SQL for media_assets only. */
export class AssetStore {
  constructor(private readonly db: Kysely<RecordingTables>) {}

  async insert(row: AssetRow): Promise<void> {
    await this.db.insertInto('media_assets').values(row).execute();
  }

  get(id: string): Promise<AssetRow | undefined> {
    return this.db.selectFrom('media_assets').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(opts: { streamId?: string; limit: number }): Promise<AssetRow[]> {
    let q = this.db.selectFrom('media_assets').selectAll();
    if (opts.streamId) q = q.where('stream_id', '=', opts.streamId);
    return q.orderBy('id', 'desc').limit(opts.limit).execute();
  }

  createdBefore(cutoff: number, limit: number): Promise<Pick<AssetRow, 'id'>[]> {
    return this.db.selectFrom('media_assets').select('id').where('created_at', '<', cutoff).orderBy('created_at').limit(limit).execute();
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('media_assets').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
