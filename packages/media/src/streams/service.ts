import { createHash, timingSafeEqual } from 'node:crypto';
import { InfraError, newId, newSecret, parseDuration, topics, type EventBus, type Logger } from '@infra/core';
import type { StreamEventRow, StreamRow, StreamStore } from './store.js';
import type { PlaybackTokenReply, StreamEvent, StreamKeyReply, StreamReply, StreamState } from './schema.js';
import { signPlayback, verifyPlayback } from './playback.js';

/** Where clients reach us, resolved per request (the gateway's origin) plus the media ports. */
export interface PublicOrigins {
  /** http(s)://host:port of the gateway: HLS, covers and VOD */
  http: string;
  /** host name clients use (for the RTMP and FLV URLs) */
  host: string;
  rtmpPort: number;
  flvPort: number;
}

export type PublishVerdict = { ok: true; stream: StreamRow } | { ok: false; reason: 'unknown-stream' | 'no-key' | 'wrong-key' | 'revoked' | 'expired' };

function hashSecret(secret: string): string {
  return createHash('sha256').update(secret).digest('hex');
}

export function playbackUrls(o: PublicOrigins, streamId: string): { hlsUrl: string; flvUrl: string; coverUrl: string } {
  return {
    hlsUrl: `${o.http}/live/${streamId}/master.m3u8`,
    flvUrl: `http://${o.host}:${o.flvPort}/live/${streamId}.flv`,
    coverUrl: `${o.http}/live/${streamId}/cover.jpg`,
  };
}

/**
 * Streams and their publish keys. A key is `<streamId>?key=<secret>`: the RTMP path and every
 * playback URL carry the stream id, the secret is shown once and only its SHA-256 is stored, so a key
 * can be revoked, rotated and can expire.
 */
export class StreamService {
  /**
   * Whether a stream is private, for the playback check on every HLS request (set at creation, never changed).
   * An unknown id is remembered for a second only: another process on the same media.db may create it.
   */
  private readonly privacy = new Map<string, boolean | number>();

  constructor(
    private readonly store: StreamStore,
    private readonly opts: { defaultKeyTtl: string; logger: Logger; bus?: EventBus; playbackSecret: string },
    private readonly now: () => number = Date.now,
  ) {}

  async create(name: string, ttl: string | undefined, origins: PublicOrigins, isPrivate = false): Promise<StreamKeyReply> {
    const now = this.now();
    const id = newId('st', now);
    await this.store.insert({ id, name, key_hash: null, key_expires_at: null, key_revoked_at: null, state: 'idle', private: isPrivate ? 1 : 0, created_at: now, updated_at: now });
    this.privacy.set(id, isPrivate);
    return this.rotateKey(id, ttl, origins);
  }

  /** A new key for the stream; the old one stops working at once. */
  async rotateKey(id: string, ttl: string | undefined, origins: PublicOrigins): Promise<StreamKeyReply> {
    const now = this.now();
    const secret = newSecret(24);
    const expiresAt = now + parseDuration(ttl ?? this.opts.defaultKeyTtl) * 1000;
    if (!(await this.store.setKey(id, hashSecret(secret), expiresAt, now))) throw new InfraError('INFRA_ERR_NOT_FOUND', `no stream ${id}`);
    const urls = playbackUrls(origins, id);
    return {
      id,
      key: `${id}?key=${secret}`,
      rtmpUrl: `rtmp://${origins.host}:${origins.rtmpPort}/live`,
      hlsUrl: urls.hlsUrl,
      flvUrl: urls.flvUrl,
      keyExpiresAt: new Date(expiresAt).toISOString(),
    };
  }

  async revokeKey(id: string, origins: PublicOrigins): Promise<StreamReply> {
    await this.revoke(id);
    return this.reply((await this.store.get(id))!, origins);
  }

  async revoke(id: string): Promise<void> {
    if (!(await this.store.revokeKey(id, this.now()))) throw new InfraError('INFRA_ERR_NOT_FOUND', `no stream ${id}`);
  }

  async get(id: string, origins: PublicOrigins): Promise<StreamReply> {
    const row = await this.store.get(id);
    if (!row) throw new InfraError('INFRA_ERR_NOT_FOUND', `no stream ${id}`);
    return this.reply(row, origins);
  }

  async list(origins: PublicOrigins, limit = 100): Promise<StreamReply[]> {
    return (await this.store.list(limit)).map((r) => this.reply(r, origins));
  }

  async remove(id: string): Promise<void> {
    if (!(await this.store.remove(id))) throw new InfraError('INFRA_ERR_NOT_FOUND', `no stream ${id}`);
  }

  /** A signed playback token for a (private) stream, and the URLs that carry it. */
  async playbackToken(id: string, ttl: string | undefined, origins: PublicOrigins): Promise<PlaybackTokenReply> {
    if (!(await this.store.get(id))) throw new InfraError('INFRA_ERR_NOT_FOUND', `no stream ${id}`);
    const expiresAt = this.now() + parseDuration(ttl ?? '1h') * 1000;
    const token = this.signPlayback(id, expiresAt);
    return {
      token,
      expiresAt: new Date(Math.floor(expiresAt / 1000) * 1000).toISOString(),
      hlsUrl: `${origins.http}/live/${id}/t/${token}/master.m3u8`,
      flvUrl: `http://${origins.host}:${origins.flvPort}/live/${id}.flv?token=${token}`,
      coverUrl: `${origins.http}/live/${id}/t/${token}/cover.jpg`,
    };
  }

  signPlayback(id: string, expiresAtMs: number): string {
    return signPlayback(this.opts.playbackSecret, id, expiresAtMs);
  }

  /** May this token play this stream? Public streams need none; unknown streams are not private (their files do not exist). */
  async mayPlay(id: string, token: unknown): Promise<boolean> {
    let known = this.privacy.get(id);
    if (known === undefined || (typeof known === 'number' && known <= this.now())) {
      const row = await this.store.get(id);
      if (this.privacy.size >= 100_000) this.privacy.clear();
      this.privacy.set(id, (known = row ? Boolean(row.private) : this.now() + 1000));
    }
    if (known !== true) return true; // public, or unknown (no files to serve)
    return verifyPlayback(this.opts.playbackSecret, id, token, this.now());
  }

  verifyPlaybackToken(id: string, token: unknown): boolean {
    return verifyPlayback(this.opts.playbackSecret, id, token, this.now());
  }

  /** The publish check RTMP ingest runs for every push (stream id from the path, secret from `?key=`). */
  async verifyPublish(streamId: string, secret: unknown): Promise<PublishVerdict> {
    if (!/^st_[0-9a-z]{26}$/.test(streamId)) return { ok: false, reason: 'unknown-stream' };
    const stream = await this.store.get(streamId);
    if (!stream) return { ok: false, reason: 'unknown-stream' };
    if (!stream.key_hash) return { ok: false, reason: 'no-key' };
    if (typeof secret !== 'string' || secret.length === 0 || secret.length > 256) return { ok: false, reason: 'wrong-key' };
    const want = Buffer.from(stream.key_hash, 'hex');
    const got = Buffer.from(hashSecret(secret), 'hex');
    if (!timingSafeEqual(want, got)) return { ok: false, reason: 'wrong-key' };
    if (stream.key_revoked_at !== null) return { ok: false, reason: 'revoked' };
    if (stream.key_expires_at !== null && Number(stream.key_expires_at) <= this.now()) return { ok: false, reason: 'expired' };
    return { ok: true, stream };
  }

  /** Stores the state change (stream row + event row, one transaction), then publishes it on live/{streamId}/state. */
  async changeState(streamId: string, sessionId: string, state: StreamState, audit?: { actor: string; reason: string }): Promise<StreamEvent> {
    const row: StreamEventRow = { id: newId('sev', this.now()), stream_id: streamId, session_id: sessionId, state, at: this.now(), actor: audit?.actor ?? null, reason: audit?.reason ?? null };
    await this.store.recordState(row);
    const event = toEvent(row);
    if (this.opts.bus) {
      await this.opts.bus.publish(topics.liveState(streamId), JSON.stringify(event), { qos: 1, retain: true })
        .catch((err: Error) => this.opts.logger.warn({ streamId, err: err.message }, 'state event not published'));
    }
    return event;
  }

  /** Streams the database says are live (at start: left so by a crash). */
  async liveAtStart(): Promise<{ id: string }[]> {
    return (await this.store.withState('live')).map((r) => ({ id: r.id }));
  }

  /** Viewer counts of a live session on live/{streamId}/state (retained: a new subscriber sees the latest). */
  async publishViewers(streamId: string, sessionId: string, viewers: { flv: number; hls: number }): Promise<void> {
    if (!this.opts.bus) return;
    const payload = { streamId, sessionId, state: 'live', at: new Date(this.now()).toISOString(), viewers: { ...viewers, total: viewers.flv + viewers.hls } };
    await this.opts.bus.publish(topics.liveState(streamId), JSON.stringify(payload), { qos: 0, retain: true })
      .catch((err: Error) => this.opts.logger.warn({ streamId, err: err.message }, 'viewer count not published'));
  }

  async events(streamId: string, limit = 100): Promise<StreamEvent[]> {
    if (!(await this.store.get(streamId))) throw new InfraError('INFRA_ERR_NOT_FOUND', `no stream ${streamId}`);
    return (await this.store.events(streamId, limit)).map(toEvent);
  }

  private reply(row: StreamRow, origins: PublicOrigins): StreamReply {
    return {
      id: row.id,
      name: row.name,
      state: row.state as StreamState,
      keyExpiresAt: row.key_expires_at === null ? null : new Date(Number(row.key_expires_at)).toISOString(),
      keyRevoked: row.key_revoked_at !== null,
      private: Boolean(row.private),
      createdAt: new Date(Number(row.created_at)).toISOString(),
      ...playbackUrls(origins, row.id),
    };
  }
}

function toEvent(row: StreamEventRow): StreamEvent {
  return {
    streamId: row.stream_id, sessionId: row.session_id, state: row.state as StreamState, at: new Date(Number(row.at)).toISOString(),
    ...(row.actor ? { actor: row.actor } : {}), ...(row.reason ? { reason: row.reason } : {}),
  };
}
