import { describe, expect, it } from 'vitest';
import { distanceM } from '@infra/core';
import { SpeedModel } from './speed.js';
import { predictAlong, straightTravelS, type Stop } from './itinerary.js';

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

describe('predictAlong (ETAs along a rider\'s stop sequence)', () => {
  const pos = { lat: 52.0, lng: 13.4 };
  const p1 = { lat: 52.01, lng: 13.4 };
  const d1 = { lat: 52.02, lng: 13.4 };
  const p2 = { lat: 52.03, lng: 13.4 };
  const d2 = { lat: 52.04, lng: 13.4 };
  const at5 = (a: { lat: number; lng: number }, b: { lat: number; lng: number }) => straightTravelS(a, b, 5, 1);
  const stop = (deliveryId: string, kind: 'pickup' | 'dropoff', p: { lat: number; lng: number }, serviceS: number, arrived = false): Stop => ({ deliveryId, kind, ...p, serviceS, arrived });
  const leg = (a: { lat: number; lng: number }, b: { lat: number; lng: number }) => distanceM(a.lat, a.lng, b.lat, b.lng) / 5;

  it('one delivery: travel to the pickup, its dwell, then the drop-off leg (x detour)', () => {
    const eta = predictAlong([stop('a', 'pickup', p1, 120), stop('a', 'dropoff', d1, 60)], pos, at5, 1_000_000)!.get('a')!;
    expect(eta.pickupAt).toBe(1_000_000 + Math.round(leg(pos, p1) * 1000));
    expect(eta.dropoffAt).toBe(1_000_000 + Math.round((leg(pos, p1) + 120 + leg(p1, d1)) * 1000));
    const slower = predictAlong([stop('a', 'pickup', p1, 0), stop('a', 'dropoff', d1, 0)], pos, (a, b) => straightTravelS(a, b, 5, 1.5), 0)!.get('a')!;
    expect(slower.pickupAt).toBe(Math.round(leg(pos, p1) * 1.5 * 1000));
  });

  it('a second delivery waits for the stops before it, with their service times', () => {
    const etas = predictAlong([stop('a', 'pickup', p1, 30), stop('a', 'dropoff', d1, 20), stop('b', 'pickup', p2, 30), stop('b', 'dropoff', d2, 20)], pos, at5, 0)!;
    expect(etas.get('b')!.pickupAt).toBe(Math.round((leg(pos, p1) + 30 + leg(p1, d1) + 20 + leg(d1, p2)) * 1000));
    expect(etas.get('b')!.dropoffAt).toBe(Math.round((leg(pos, p1) + 30 + leg(p1, d1) + 20 + leg(d1, p2) + 30 + leg(p2, d2)) * 1000));
  });

  it('a stop the rider is at gives no arrival but its remaining service; no position, no estimate', () => {
    const etas = predictAlong([stop('a', 'pickup', p1, 60, true), stop('a', 'dropoff', d1, 0)], undefined, at5, 0)!;
    expect(etas.get('a')).toEqual({ pickupAt: null, dropoffAt: Math.round((60 + leg(p1, d1)) * 1000) });
    expect(predictAlong([stop('a', 'pickup', p1, 0), stop('a', 'dropoff', d1, 0)], undefined, at5, 0)).toBeUndefined();
    expect(predictAlong([], pos, at5, 0)!.size).toBe(0);
  });
});
