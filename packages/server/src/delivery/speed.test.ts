import { describe, expect, it } from 'vitest';
import { distanceM } from '@infra/core';
import { predictEta, SpeedModel } from './speed.js';

const fix = (riderId: string, lat: number, ts: number, extra: { speed?: number; flagged?: boolean } = {}) => ({ riderId, lat, lng: 13.4, ts, ...extra });

describe('SpeedModel', () => {
  it('starts at the prior, learns per zone and per rider, shrunk toward the prior', () => {
    const m = new SpeedModel(5, 5);
    expect(m.speed('r1', 'z')).toBe(5);
    for (let i = 0; i < 5; i++) m.observe(fix('r1', 52, i * 1000, { speed: 10 }), 'z');
    // zone: (5 x 10 + 5 x 5) / 10 = 7.5; rider: (5 x 10 + 5 x 7.5) / 10 = 8.75
    expect(m.zoneSpeed('z')).toBeCloseTo(7.5, 9);
    expect(m.speed('r1', 'z')).toBeCloseTo(8.75, 9);
    // a new rider in that zone starts at the zone's speed; another zone still at the prior
    expect(m.speed('r2', 'z')).toBeCloseTo(7.5, 9);
    expect(m.speed('r1', 'other')).toBeCloseTo((50 + 25) / 10, 9);
  });

  it('without a device speed it measures distance over time; stops, jumps and flagged fixes teach nothing', () => {
    const m = new SpeedModel(5, 5);
    const north = (metres: number) => 52 + metres / 111_195; // metres along a meridian
    m.observe(fix('r', north(0), 0), undefined);
    m.observe(fix('r', north(100), 10_000), undefined); // 100 m in 10 s: 10 m/s
    const one = (1 * 10 + 5 * 5) / 6;
    expect(m.speed('r', 'z')).toBeCloseTo(one, 2);
    m.observe(fix('r', north(101), 20_000), undefined); // 0.1 m/s: waiting, ignored
    m.observe(fix('r', north(5000), 30_000), undefined); // 490 m/s: a jump, ignored
    m.observe(fix('r', north(5100), 40_000, { flagged: true }), undefined); // flagged: ignored, and not a base for the next
    m.observe(fix('r', north(5005), 30_500), undefined); // 0.5 s after the last unflagged fix: too short to measure
    expect(m.speed('r', 'z')).toBeCloseTo(one, 2);
  });
});

describe('predictEta', () => {
  const pickup = { lat: 52.01, lng: 13.4 };
  const dropoff = { lat: 52.03, lng: 13.4 };
  const pos = { lat: 52.0, lng: 13.4 };
  const toPickupS = distanceM(pos.lat, pos.lng, pickup.lat, pickup.lng) / 5; // about 1112 m at 5 m/s
  const legS = distanceM(pickup.lat, pickup.lng, dropoff.lat, dropoff.lng) / 5;

  it('before pickup: travel to the pickup, the dwell, then the drop-off leg (x detour)', () => {
    const eta = predictEta({ status: 'heading_to_pickup', position: pos, pickup, dropoff, speedMps: 5, detour: 1, pickupDwellS: 120, now: 1_000_000 })!;
    expect(eta.pickupAt).toBe(1_000_000 + Math.round(toPickupS * 1000));
    expect(eta.dropoffAt).toBe(1_000_000 + Math.round((toPickupS + 120 + legS) * 1000));
    const slower = predictEta({ status: 'assigned', position: pos, pickup, dropoff, speedMps: 5, detour: 1.5, pickupDwellS: 0, now: 0 })!;
    expect(slower.pickupAt).toBe(Math.round(toPickupS * 1.5 * 1000));
  });

  it('after pickup only the way to the customer counts; done legs are null; no position, no estimate', () => {
    const mid = { lat: 52.02, lng: 13.4 };
    const eta = predictEta({ status: 'heading_to_customer', position: mid, pickup, dropoff, speedMps: 10, detour: 1, pickupDwellS: 120, now: 0 })!;
    expect(eta).toEqual({ pickupAt: null, dropoffAt: Math.round((distanceM(mid.lat, mid.lng, dropoff.lat, dropoff.lng) / 10) * 1000) });
    expect(predictEta({ status: 'at_pickup', position: undefined, pickup, dropoff, speedMps: 5, detour: 1, pickupDwellS: 60, now: 0 })).toEqual({ pickupAt: null, dropoffAt: Math.round((60 + legS) * 1000) });
    expect(predictEta({ status: 'assigned', position: undefined, pickup, dropoff, speedMps: 5, detour: 1, pickupDwellS: 0, now: 0 })).toBeUndefined();
    expect(predictEta({ status: 'delivered', position: pos, pickup, dropoff, speedMps: 5, detour: 1, pickupDwellS: 0, now: 0 })).toEqual({ pickupAt: null, dropoffAt: null });
  });
});
