import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError, newId, type Logger } from '@infra/core';
import type { AssetRow, AssetStore } from './store.js';
import type { AssetReply } from './schema.js';
import { remuxRecording } from './remux.js';

export interface FinishedSession {
  streamId: string;
  sessionId: string;
  /** the MPEG-TS the live ffmpeg wrote */
  tsFile: string;
  hasAudio: boolean;
  startedAt: number;
  endedAt: number;
}

/** Turns finished live sessions into VOD assets under <data.dir>/media/vod/<assetId>/ and manages them. */
export class RecordingService {
  constructor(
    private readonly store: AssetStore,
    private readonly opts: { vodDir: string; ffmpegPath: () => string | undefined; logger: Logger },
    private readonly now: () => number = Date.now,
  ) {}

  /** The session's recording becomes an MP4 (faststart) with a poster; undefined when nothing was recorded. */
  async finalize(s: FinishedSession): Promise<AssetReply | undefined> {
    const ffmpegPath = this.opts.ffmpegPath();
    if (!ffmpegPath || !existsSync(s.tsFile) || statSync(s.tsFile).size === 0) {
      this.opts.logger.warn({ streamId: s.streamId, sessionId: s.sessionId }, 'nothing recorded: no VOD asset');
      rmSync(s.tsFile, { force: true });
      return undefined;
    }
    const id = newId('vod', this.now());
    const dir = join(this.opts.vodDir, id);
    mkdirSync(dir, { recursive: true });
    const mp4 = join(dir, 'index.mp4');
    const poster = join(dir, 'poster.jpg');
    try {
      const { durationMs } = await remuxRecording(ffmpegPath, s.tsFile, mp4, poster, s.hasAudio);
      const row: AssetRow = {
        id, stream_id: s.streamId, session_id: s.sessionId, file: 'index.mp4', duration_ms: durationMs,
        size_bytes: statSync(mp4).size, has_poster: existsSync(poster) ? 1 : 0, started_at: s.startedAt, ended_at: s.endedAt, created_at: this.now(),
      };
      await this.store.insert(row);
      rmSync(s.tsFile, { force: true });
      this.opts.logger.info({ streamId: s.streamId, assetId: id, durationMs, sizeBytes: row.size_bytes }, 'recording saved as VOD asset');
      return toReply(row);
    } catch (err) {
      // keep the .ts so nothing recorded is lost; the log says where it is
      rmSync(dir, { recursive: true, force: true });
      this.opts.logger.error({ streamId: s.streamId, tsFile: s.tsFile, err: (err as Error).message }, 'recording could not be turned into a VOD asset');
      return undefined;
    }
  }

  async list(opts: { streamId?: string; limit?: number }): Promise<AssetReply[]> {
    return (await this.store.list({ ...opts, limit: opts.limit ?? 100 })).map(toReply);
  }

  async get(id: string): Promise<AssetReply> {
    const row = await this.store.get(id);
    if (!row) throw new InfraError('INFRA_ERR_NOT_FOUND', `no asset ${id}`);
    return toReply(row);
  }

  /** Retention: deletes assets created more than `maxAgeMs` ago; returns how many. */
  async sweep(maxAgeMs: number): Promise<number> {
    let removed = 0;
    for (;;) {
      const batch = await this.store.createdBefore(this.now() - maxAgeMs, 100);
      for (const a of batch) {
        await this.remove(a.id).catch(() => undefined); // deleted meanwhile
        removed++;
      }
      if (batch.length < 100) break;
    }
    if (removed > 0) this.opts.logger.info({ removed, maxAgeMs }, 'VOD retention: old assets deleted');
    return removed;
  }

  /** Deletes the row first (the asset disappears from listings at once), then its files. */
  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) throw new InfraError('INFRA_ERR_NOT_FOUND', `no asset ${id}`);
    rmSync(join(this.opts.vodDir, id), { recursive: true, force: true });
  }
}

function toReply(row: AssetRow): AssetReply {
  return {
    id: row.id,
    streamId: row.stream_id,
    sessionId: row.session_id,
    durationMs: Number(row.duration_ms),
    sizeBytes: Number(row.size_bytes),
    url: `/vod/${row.id}/${row.file}`,
    posterUrl: row.has_poster ? `/vod/${row.id}/poster.jpg` : null,
    startedAt: new Date(Number(row.started_at)).toISOString(),
    endedAt: new Date(Number(row.ended_at)).toISOString(),
    createdAt: new Date(Number(row.created_at)).toISOString(),
  };
}
