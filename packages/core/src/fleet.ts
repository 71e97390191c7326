/**
 * The GPS fix a rider device publishes on `fleet/{riderId}/loc` (docs/mqtt.md), and its cheap validation,
 * shared by the broker (drops bad fixes at the door) and the server (ingests them). No dependencies:
 * the SDK imports it through '@infra/core/topics'.
 */

/** What a device publishes: JSON, QoS 0 or 1, never retained. */
export interface FixPayload {
  lat: number;
  lng: number;
  /** m/s */
  speed?: number;
  /** degrees clockwise from north, 0..360 */
  heading?: number;
  /** metres (radius of 68% confidence) */
  accuracy?: number;
  /** when the device took the fix, epoch ms */
  ts: number;
  /** set by the broker on a fix that implies an impossible speed from the previous one (accepted but suspect) */
  flag?: 'speed';
}

export interface FixLimits {
  /** largest payload in bytes */
  maxBytes: number;
  /** how far in the future ts may be (device clock skew), ms */
  maxFutureMs: number;
  /** how old a fix may be (a phone replaying a buffer after a tunnel), ms */
  maxAgeMs: number;
}

export type FixVerdict = { ok: true; fix: FixPayload } | { ok: false; reason: FixRejection };
export type FixRejection = 'too_large' | 'not_json' | 'bad_lat_lng' | 'bad_ts' | 'future_ts' | 'stale_ts' | 'bad_speed' | 'bad_heading' | 'bad_accuracy';

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const optIn = (v: unknown, lo: number, hi: number): boolean => v === undefined || (isNum(v) && v >= lo && v <= hi);

/** Parses and range-checks one fix. Unknown fields are ignored (and not carried over). */
export function parseFix(payload: Buffer | string, now: number, limits: FixLimits): FixVerdict {
  if (payload.length > limits.maxBytes) return { ok: false, reason: 'too_large' };
  let raw: unknown;
  try {
    raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  if (typeof raw !== 'object' || raw === null) return { ok: false, reason: 'not_json' };
  const r = raw as Record<string, unknown>;
  const { lat, lng, ts } = r;
  if (!isNum(lat) || !isNum(lng) || lat < -90 || lat > 90 || lng < -180 || lng > 180) return { ok: false, reason: 'bad_lat_lng' };
  if (!isNum(ts) || ts < 0) return { ok: false, reason: 'bad_ts' };
  if (ts > now + limits.maxFutureMs) return { ok: false, reason: 'future_ts' };
  if (ts < now - limits.maxAgeMs) return { ok: false, reason: 'stale_ts' };
  if (!optIn(r['speed'], 0, 150)) return { ok: false, reason: 'bad_speed' };
  if (!optIn(r['heading'], 0, 360)) return { ok: false, reason: 'bad_heading' };
  if (!optIn(r['accuracy'], 0, 100_000)) return { ok: false, reason: 'bad_accuracy' };
  const fix: FixPayload = { lat, lng, ts: Math.round(ts) };
  if (r['speed'] !== undefined) fix.speed = r['speed'] as number;
  if (r['heading'] !== undefined) fix.heading = r['heading'] as number;
  if (r['accuracy'] !== undefined) fix.accuracy = r['accuracy'] as number;
  if (r['flag'] === 'speed') fix.flag = 'speed';
  return { ok: true, fix };
}

const EARTH_M = 6_371_008.8;
const RAD = Math.PI / 180;

/** Great-circle distance in metres (haversine). */
export function distanceM(aLat: number, aLng: number, bLat: number, bLng: number): number {
  const dLat = (bLat - aLat) * RAD;
  const dLng = (bLng - aLng) * RAD;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(aLat * RAD) * Math.cos(bLat * RAD) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/**
 * True when going from `prev` to `next` needs more than maxSpeedKmh. A short gap gets the fixes' accuracy as slack
 * (two noisy fixes a second apart are not a 300 km/h jump).
 */
export function isImpossibleJump(prev: { lat: number; lng: number; ts: number; accuracy?: number }, next: { lat: number; lng: number; ts: number; accuracy?: number }, maxSpeedKmh: number): boolean {
  const dt = Math.max(next.ts - prev.ts, 1000) / 1000;
  const slack = (prev.accuracy ?? 0) + (next.accuracy ?? 0);
  const d = Math.max(0, distanceM(prev.lat, prev.lng, next.lat, next.lng) - slack);
  return (d / dt) * 3.6 > maxSpeedKmh;
}

/** The rider id of `fleet/{riderId}/loc`, or undefined for any other topic. */
export function riderOfFleetTopic(topic: string): string | undefined {
  if (!topic.startsWith('fleet/') || !topic.endsWith('/loc')) return undefined;
  const id = topic.slice(6, -4);
  return id.length > 0 && id.indexOf('/') < 0 ? id : undefined;
}

type Point = { lat: number; lng: number; ts: number; accuracy?: number };
export type JumpVerdict = 'ok' | 'flagged' | 'late';

/**
 * Per-rider impossible-speed check against the last plausible fix. A flagged fix is remembered as a suspect: when
 * the next fix is plausible from the suspect (the rider really moved: a ferry, a van) the suspect is confirmed and
 * the track continues from there, so one bad reference never flags a rider forever. `late` = not newer than the
 * last plausible fix (a replayed buffer): keep it as history, do not move the rider.
 */
export class JumpDetector {
  private readonly last = new Map<string, Point>();
  private readonly suspect = new Map<string, Point>();

  constructor(private readonly maxSpeedKmh: number) {}

  check(riderId: string, fix: Point): JumpVerdict {
    const prev = this.last.get(riderId);
    if (prev && fix.ts <= prev.ts) return 'late';
    if (prev && isImpossibleJump(prev, fix, this.maxSpeedKmh)) {
      const s = this.suspect.get(riderId);
      if (!s || fix.ts <= s.ts || isImpossibleJump(s, fix, this.maxSpeedKmh)) {
        this.suspect.set(riderId, fix);
        return 'flagged';
      }
    }
    this.last.set(riderId, fix);
    this.suspect.delete(riderId);
    return 'ok';
  }

  get riders(): number {
    return this.last.size;
  }
}
