import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Stream keys are derived, not stored: HMAC(streamKeySalt, streamId). OBS gets `<streamId>?key=<mac>`
 * as its Stream Key, so the RTMP path (and every playback URL) carries the stream id, never the secret.
 */
export function streamKeyMac(salt: string, streamId: string): string {
  return createHmac('sha256', salt).update(`stream:${streamId}`).digest('base64url').slice(0, 32);
}

export function streamKeyFor(salt: string, streamId: string): string {
  return `${streamId}?key=${streamKeyMac(salt, streamId)}`;
}

export function verifyStreamKey(salt: string, streamId: string, mac: unknown): boolean {
  if (typeof mac !== 'string') return false;
  const want = Buffer.from(streamKeyMac(salt, streamId));
  const got = Buffer.from(mac);
  return want.length === got.length && timingSafeEqual(want, got);
}
