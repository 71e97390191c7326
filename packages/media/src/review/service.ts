import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { InfraError, newId, type Logger } from '@infra/core';
import type { StreamService } from '../streams/service.js';
import type { LiveSessions } from '../ingest/live-sessions.js';
import type { ReviewItemRow, ReviewStore } from './store.js';
import type { DecisionBody, ReviewItem, ReviewQuery, ReviewStatus } from './schema.js';

const STATUS_OF = { approve: 'approved', warn: 'warned', cut: 'cut' } as const;

/**
 * Moderation: frames sampled from live streams into a queue (optionally scored by a configured
 * classifier endpoint), and an operator's decision on each: approve, warn, or cut the stream.
 */
export class ReviewService {
  constructor(
    private readonly store: ReviewStore,
    private readonly streams: StreamService,
    private readonly sessions: () => LiveSessions,
    private readonly opts: { frameDir: string; classifierUrl: string; logger: Logger },
    private readonly now: () => number = Date.now,
  ) {
    mkdirSync(opts.frameDir, { recursive: true });
  }

  /** Queues the stream's latest cover frame; a frame that is missing or still being written is skipped. */
  async sample(streamId: string, sessionId: string, coverFile: string): Promise<string | undefined> {
    if (!existsSync(coverFile) || statSync(coverFile).size < 4) return undefined;
    const id = newId('rv', this.now());
    const frame = join(this.opts.frameDir, `${id}.jpg`);
    copyFileSync(coverFile, frame);
    const jpeg = readFileSync(frame);
    if (jpeg[0] !== 0xff || jpeg[1] !== 0xd8 || jpeg[jpeg.length - 2] !== 0xff || jpeg[jpeg.length - 1] !== 0xd9) return undefined;
    await this.store.insert({ id, stream_id: streamId, session_id: sessionId, at: this.now(), status: 'pending', label: null, score: null, decided_by: null, decided_at: null, reason: null });
    if (this.opts.classifierUrl) void this.classify(id, streamId, jpeg);
    return id;
  }

  private async classify(id: string, streamId: string, jpeg: Buffer): Promise<void> {
    try {
      const res = await fetch(this.opts.classifierUrl, { method: 'POST', headers: { 'content-type': 'image/jpeg', 'x-stream-id': streamId }, body: jpeg, signal: AbortSignal.timeout(5000) });
      const body = (await res.json()) as { label?: unknown; score?: unknown };
      if (!res.ok || typeof body.label !== 'string') throw new Error(`answered ${res.status}`);
      await this.store.classify(id, body.label.slice(0, 100), typeof body.score === 'number' ? body.score : null);
    } catch (err) {
      this.opts.logger.warn({ streamId, itemId: id, err: (err as Error).message }, 'classifier failed: the frame stays unscored');
    }
  }

  async list(q: ReviewQuery): Promise<ReviewItem[]> {
    return (await this.store.list({ ...q, limit: q.limit ?? 100 })).map(toItem);
  }

  async frame(id: string): Promise<Buffer> {
    if (!(await this.store.get(id))) throw new InfraError('INFRA_ERR_NOT_FOUND', `no review item ${id}`);
    return readFileSync(join(this.opts.frameDir, `${id}.jpg`));
  }

  /** One decision per item (a second one is a 409). `cut` also cuts the stream. */
  async decide(id: string, body: DecisionBody, actor: string): Promise<ReviewItem> {
    const item = await this.store.get(id);
    if (!item) throw new InfraError('INFRA_ERR_NOT_FOUND', `no review item ${id}`);
    if (!(await this.store.decide(id, STATUS_OF[body.decision], actor, this.now(), body.reason ?? null))) {
      throw new InfraError('INFRA_ERR_CONFLICT', `review item ${id} was already decided (${item.status})`);
    }
    this.opts.logger.info({ streamId: item.stream_id, itemId: id, decision: body.decision, actor }, 'review decision');
    if (body.decision === 'cut') await this.cut(item.stream_id, { actor, reason: body.reason ?? `review item ${id}` });
    return toItem((await this.store.get(id))!);
  }

  /** Revokes the key first (no reconnect with it), then disconnects the live session, which ends as `cut`. */
  async cut(streamId: string, audit: { actor: string; reason: string }): Promise<{ streamId: string; wasLive: boolean }> {
    await this.streams.revoke(streamId);
    const wasLive = await this.sessions().cut(streamId, audit);
    return { streamId, wasLive };
  }
}

function toItem(row: ReviewItemRow): ReviewItem {
  return {
    id: row.id,
    streamId: row.stream_id,
    sessionId: row.session_id,
    at: new Date(Number(row.at)).toISOString(),
    status: row.status as ReviewStatus,
    frameUrl: `/api/v1/media/review/${row.id}/frame.jpg`,
    label: row.label,
    score: row.score,
    decidedBy: row.decided_by,
    reason: row.reason,
  };
}
