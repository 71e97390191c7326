import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Playback tokens for private streams: `<expiry epoch s>.<HMAC-SHA256(secret, streamId:expiry)>`.
 * They go in the URL path (/live/{streamId}/t/{token}/master.m3u8) so that the relative URIs inside
 * HLS playlists (renditions, segments) carry the token too, and in the FLV URL's `?token=`.
 */
export function signPlayback(secret: string, streamId: string, expiresAtMs: number): string {
  const exp = Math.floor(expiresAtMs / 1000);
  const mac = createHmac('sha256', secret).update(`play:${streamId}:${exp}`).digest('base64url').slice(0, 32);
  return `${exp}.${mac}`;
}

export function verifyPlayback(secret: string, streamId: string, token: unknown, nowMs: number): boolean {
  if (typeof token !== 'string') return false;
  const m = /^(\d{1,12})\.([A-Za-z0-9_-]{32})$/.exec(token);
  if (!m) return false;
  const exp = Number(m[1]);
  if (exp * 1000 <= nowMs) return false;
  const want = Buffer.from(signPlayback(secret, streamId, exp * 1000));
  const got = Buffer.from(token);
  return want.length === got.length && timingSafeEqual(want, got);
}
