import { distanceM } from '@infra/core';
import type { Fix } from '../riders/index.js';

/** Moving speeds only: a rider waiting at a pickup is not slow, and a GPS jump is not fast. */
const MIN_MPS = 0.5;
const MAX_MPS = 60;

interface Mean {
  n: number;
  mean: number;
}

/**
 * Travel speed learned from fixes, per rider and per zone, shrunk toward a prior: with n samples of mean m the
 * estimate is (n·m + w·prior) / (n + w), so a new rider starts at the zone's speed and a new zone at the
 * configured prior. The running mean forgets: it weighs the last `window` samples (recent traffic matters).
 */
export class SpeedModel {
  private readonly riders = new Map<string, Mean & { last?: { lat: number; lng: number; ts: number } }>();
  private readonly zones = new Map<string, Mean>();

  constructor(private readonly priorMps: number, private readonly priorWeight = 5, private readonly window = 50) {}

  /** One accepted fix: the device's speed when it sends one, else distance over time from the previous fix. */
  observe(fix: Fix, zone: string | undefined): void {
    if (fix.flagged) return;
    let r = this.riders.get(fix.riderId);
    if (!r) this.riders.set(fix.riderId, (r = { n: 0, mean: 0 }));
    let sample: number | undefined = fix.speed;
    if (sample === undefined && r.last) {
      const dt = (fix.ts - r.last.ts) / 1000;
      if (dt >= 1 && dt <= 120) sample = distanceM(r.last.lat, r.last.lng, fix.lat, fix.lng) / dt;
    }
    r.last = { lat: fix.lat, lng: fix.lng, ts: fix.ts };
    if (sample === undefined || sample < MIN_MPS || sample > MAX_MPS) return;
    this.add(r, sample);
    if (zone) {
      let z = this.zones.get(zone);
      if (!z) this.zones.set(zone, (z = { n: 0, mean: 0 }));
      this.add(z, sample);
    }
  }

  private add(m: Mean, x: number): void {
    m.n = Math.min(m.n + 1, this.window);
    m.mean += (x - m.mean) / m.n;
  }

  private shrink(m: Mean | undefined, toward: number): number {
    return m && m.n > 0 ? (m.n * m.mean + this.priorWeight * toward) / (m.n + this.priorWeight) : toward;
  }

  zoneSpeed(zone: string): number {
    return this.shrink(this.zones.get(zone), this.priorMps);
  }

  /** m/s for this rider in this zone. */
  speed(riderId: string, zone: string): number {
    return this.shrink(this.riders.get(riderId), this.zoneSpeed(zone));
  }
}
