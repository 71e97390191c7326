import type { Kysely } from 'kysely';

export interface StreamRow {
  id: string;
  name: string;
  key_hash: string | null;
  key_expires_at: number | null;
  key_revoked_at: number | null;
  state: string;
  private: number;
  created_at: number;
  updated_at: number;
}

export interface StreamEventRow {
  id: string;
  stream_id: string;
  session_id: string;
  state: string;
  at: number;
  actor: string | null;
  reason: string | null;
}

export interface StreamTables {
  media_streams: StreamRow;
  media_stream_events: StreamEventRow;
}

/** SQL for media_streams and media_stream_events only. */
export class StreamStore {
  constructor(private readonly db: Kysely<StreamTables>) {}

  async insert(row: StreamRow): Promise<void> {
    await this.db.insertInto('media_streams').values(row).execute();
  }

  get(id: string): Promise<StreamRow | undefined> {
    return this.db.selectFrom('media_streams').selectAll().where('id', '=', id).executeTakeFirst();
  }

  list(limit: number): Promise<StreamRow[]> {
    return this.db.selectFrom('media_streams').selectAll().orderBy('id', 'desc').limit(limit).execute();
  }

  withState(state: string): Promise<StreamRow[]> {
    return this.db.selectFrom('media_streams').selectAll().where('state', '=', state).execute();
  }

  async setKey(id: string, keyHash: string, expiresAt: number, now: number): Promise<boolean> {
    const r = await this.db.updateTable('media_streams')
      .set({ key_hash: keyHash, key_expires_at: expiresAt, key_revoked_at: null, updated_at: now })
      .where('id', '=', id).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  async revokeKey(id: string, now: number): Promise<boolean> {
    const r = await this.db.updateTable('media_streams')
      .set({ key_revoked_at: now, updated_at: now })
      .where('id', '=', id).executeTakeFirst();
    return r.numUpdatedRows > 0n;
  }

  /** Sets the state and appends the event row in one transaction. */
  async recordState(event: StreamEventRow): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable('media_streams').set({ state: event.state, updated_at: event.at }).where('id', '=', event.stream_id).execute();
      await tx.insertInto('media_stream_events').values(event).execute();
    });
  }

  events(streamId: string, limit: number): Promise<StreamEventRow[]> {
    return this.db.selectFrom('media_stream_events').selectAll().where('stream_id', '=', streamId).orderBy('at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  async remove(id: string): Promise<boolean> {
    const r = await this.db.deleteFrom('media_streams').where('id', '=', id).executeTakeFirst();
    return r.numDeletedRows > 0n;
  }
}
