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

/** 10^0 … 10^22: every one exact in a double */
const POW10 = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));
const WS = (c: number): boolean => c === 32 || c === 10 || c === 13 || c === 9;
/** What the fast path read (reset for each payload; parseFix copies what it keeps). */
interface Scanned {
  lat: number | undefined;
  lng: number | undefined;
  ts: number | undefined;
  speed: number | undefined;
  heading: number | undefined;
  accuracy: number | undefined;
}
const scanned: Scanned = { lat: undefined, lng: undefined, ts: undefined, speed: undefined, heading: undefined, accuracy: undefined };

/** Whether b[at, at + len) is the ASCII key `key`. */
function keyIs(b: Uint8Array, at: number, len: number, key: string): boolean {
  if (len !== key.length) return false;
  for (let j = 0; j < len; j++) if (b[at + j] !== key.charCodeAt(j)) return false;
  return true;
}

/**
 * The common shape of a fix, read straight from its bytes: one flat JSON object whose every value is a plain number of
 * at most 15 significant digits and a small exponent. Each number is then exactly what JSON.parse gives (Clinger's
 * fast path: an integer below 2^53 times or divided by an exact power of ten is one correctly rounded operation).
 * Anything else (a string value, an escape in a key, more digits, nesting, malformed input) answers undefined, and
 * parseFix takes JSON.parse's answer instead: this only skips building a string and an object per fix, the largest
 * part of validating one (bench:telemetry profile).
 */
function scanFlatNumbers(b: Uint8Array): Scanned | undefined {
  const out = scanned;
  out.lat = out.lng = out.ts = out.speed = out.heading = out.accuracy = undefined;
  const end = b.length;
  let i = 0;
  while (i < end && WS(b[i]!)) i++;
  if (b[i++] !== 123 /* { */) return undefined;
  while (i < end && WS(b[i]!)) i++;
  if (b[i] === 125 /* } */) i++;
  else {
    for (;;) {
      if (b[i++] !== 34 /* " */) return undefined;
      const keyStart = i;
      while (i < end && b[i] !== 34) {
        if (b[i] === 92 /* \ */ || b[i]! < 32) return undefined;
        i++;
      }
      if (i >= end) return undefined;
      const keyEnd = i++;
      while (i < end && WS(b[i]!)) i++;
      if (b[i++] !== 58 /* : */) return undefined;
      while (i < end && WS(b[i]!)) i++;
      // -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
      let negative = false;
      if (b[i] === 45 /* - */) {
        negative = true;
        i++;
      }
      let mantissa = 0;
      let digits = 0;
      let scale = 0;
      if (b[i] === 48 /* 0 */) i++;
      else if (b[i]! >= 49 && b[i]! <= 57) {
        while (b[i]! >= 48 && b[i]! <= 57) {
          mantissa = mantissa * 10 + (b[i]! - 48);
          digits++;
          i++;
        }
      } else return undefined;
      if (b[i] === 46 /* . */) {
        i++;
        if (!(b[i]! >= 48 && b[i]! <= 57)) return undefined;
        while (b[i]! >= 48 && b[i]! <= 57) {
          mantissa = mantissa * 10 + (b[i]! - 48);
          if (mantissa > 0) digits++;
          scale--;
          i++;
        }
      }
      if (b[i] === 101 || b[i] === 69 /* e E */) {
        i++;
        let sign = 1;
        if (b[i] === 43 || b[i] === 45) sign = b[i++] === 45 ? -1 : 1;
        if (!(b[i]! >= 48 && b[i]! <= 57)) return undefined;
        let exp = 0;
        while (b[i]! >= 48 && b[i]! <= 57) {
          exp = exp * 10 + (b[i]! - 48);
          if (exp > 400) return undefined;
          i++;
        }
        scale += sign * exp;
      }
      if (digits > 15) return undefined;
      let value: number;
      if (mantissa === 0) value = 0;
      else if (scale < -22 || scale > 22) return undefined;
      else value = scale < 0 ? mantissa / POW10[-scale]! : mantissa * POW10[scale]!;
      if (negative) value = -value;
      const len = keyEnd - keyStart;
      if (keyIs(b, keyStart, len, 'lat')) out.lat = value;
      else if (keyIs(b, keyStart, len, 'lng')) out.lng = value;
      else if (keyIs(b, keyStart, len, 'ts')) out.ts = value;
      else if (keyIs(b, keyStart, len, 'speed')) out.speed = value;
      else if (keyIs(b, keyStart, len, 'heading')) out.heading = value;
      else if (keyIs(b, keyStart, len, 'accuracy')) out.accuracy = value;
      while (i < end && WS(b[i]!)) i++;
      if (b[i] === 44 /* , */) {
        i++;
        while (i < end && WS(b[i]!)) i++;
        continue;
      }
      if (b[i++] !== 125 /* } */) return undefined;
      break;
    }
  }
  while (i < end && WS(b[i]!)) i++;
  return i === end ? out : undefined;
}

/** Parses and range-checks one fix. Unknown fields are ignored (and not carried over). */
export function parseFix(payload: Buffer | string, now: number, limits: FixLimits): FixVerdict {
  if (payload.length > limits.maxBytes) return { ok: false, reason: 'too_large' };
  let raw: unknown = typeof payload === 'string' ? undefined : scanFlatNumbers(payload);
  if (raw === undefined) {
    try {
      raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    } catch {
      return { ok: false, reason: 'not_json' };
    }
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
  // one shape for every fix (absent fields are undefined, not missing): built at once, it stays cheap to make and read
  const fix: FixPayload = { lat, lng, ts: Math.round(ts), speed: r['speed'] as number | undefined, heading: r['heading'] as number | undefined, accuracy: r['accuracy'] as number | undefined };
  if (r['flag'] === 'speed') fix.flag = 'speed';
  return { ok: true, fix };
}

/**
 * The in-process hand-over of a fix the broker's gate has validated: aedes passes the same payload Buffer from
 * authorizePublish to every in-process subscriber, so the server's ingest takes the gate's result instead of parsing
 * the JSON a second time. The mark is a property of that Buffer object in this process: nothing a client sends can set
 * it, and a payload from anywhere else (another process, a test publishing on the bus) is simply parsed.
 */
const VALIDATED = Symbol('infra.fleet.validated');

/** Marks `payload` as the validated bytes of `fix` (the gate does, after parseFix accepted them). */
export function markValidatedFix(payload: Buffer | string, fix: FixPayload): void {
  if (typeof payload !== 'string') (payload as Buffer & { [VALIDATED]?: FixPayload })[VALIDATED] = fix;
}

/** The fix the gate validated for exactly this payload Buffer, if it did. */
export function validatedFix(payload: Buffer): FixPayload | undefined {
  return (payload as Buffer & { [VALIDATED]?: FixPayload })[VALIDATED];
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
