import { distanceM } from '@infra/core/topics';
import type { Fix, RiderService } from './service.js';

export interface Fence {
  id: string;
  /** only this rider's fixes; absent = every rider */
  riderId?: string;
  center?: { lat: number; lng: number };
  radiusM?: number;
  /** [lat, lng] vertices, in order (closed implicitly) */
  polygon?: [number, number][];
}
export interface FenceEvent { fenceId: string; riderId: string; kind: 'enter' | 'exit'; at: number }
type Handler = (e: FenceEvent) => void;

/** A circle exit needs the rider this far beyond the radius (GPS jitter at the edge must not flap enter/exit). */
const exitMarginM = (radiusM: number): number => Math.min(50, radiusM * 0.2);

function insidePolygon(lat: number, lng: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [yi, xi] = poly[i]!;
    const [yj, xj] = poly[j]!;
    if ((yi > lat) !== (yj > lat) && lng < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * Circle and polygon geofences evaluated on every accepted fix (flagged jumps excluded: a GPS glitch must not
 * "arrive"). The first fix inside raises `enter`; leaving raises `exit`. Fences scoped to a rider are looked up by rider.
 */
export class Geofences {
  private readonly byRider = new Map<string, Set<Watch>>();
  private readonly global = new Set<Watch>();
  private readonly off: () => void;

  constructor(riders: Pick<RiderService, 'onFix'>) {
    this.off = riders.onFix((fix) => this.evaluate(fix));
  }

  watch(fence: Fence, handler: Handler): () => void {
    const hasCircle = fence.center !== undefined && fence.radiusM !== undefined && fence.radiusM > 0;
    const hasPolygon = fence.polygon !== undefined && fence.polygon.length >= 3;
    if (hasCircle === hasPolygon) throw new TypeError(`geofence ${fence.id}: give either center+radiusM or a polygon of at least 3 points`);
    const w: Watch = { fence, handler, inside: new Set() };
    const bucket = fence.riderId === undefined ? this.global : this.bucket(fence.riderId);
    bucket.add(w);
    return () => {
      bucket.delete(w);
      if (fence.riderId !== undefined && bucket.size === 0) this.byRider.delete(fence.riderId);
    };
  }

  close(): void {
    this.off();
  }

  private bucket(riderId: string): Set<Watch> {
    let b = this.byRider.get(riderId);
    if (!b) this.byRider.set(riderId, (b = new Set()));
    return b;
  }

  private evaluate(fix: Fix): void {
    if (fix.flagged) return;
    const scoped = this.byRider.get(fix.riderId);
    if (scoped) for (const w of [...scoped]) this.check(w, fix);
    for (const w of [...this.global]) this.check(w, fix);
  }

  private check(w: Watch, fix: Fix): void {
    const { fence } = w;
    const was = w.inside.has(fix.riderId);
    let now: boolean;
    if (fence.polygon) now = insidePolygon(fix.lat, fix.lng, fence.polygon);
    else {
      const d = distanceM(fence.center!.lat, fence.center!.lng, fix.lat, fix.lng);
      now = was ? d <= fence.radiusM! + exitMarginM(fence.radiusM!) : d <= fence.radiusM!;
    }
    if (now === was) return;
    if (now) w.inside.add(fix.riderId);
    else w.inside.delete(fix.riderId);
    try {
      w.handler({ fenceId: fence.id, riderId: fix.riderId, kind: now ? 'enter' : 'exit', at: fix.ts });
    } catch {
      /* a failing handler must not stop the others or the fix pipeline */
    }
  }
}

interface Watch { fence: Fence; handler: Handler; inside: Set<string> }
