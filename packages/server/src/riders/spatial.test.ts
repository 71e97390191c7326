import { describe, expect, it } from 'vitest';
import { mulberry32 as seeded } from '@infra/core';
import { getPentagons, cellToLatLng, latLngToCell } from 'h3-js';
import { RiderIndex } from './spatial.js';

describe('RiderIndex', () => {
  it('keeps every rider under the H3 cell of its latest position, when a move skips H3 inside the cell’s inscribed circle (walks in a city, near the pole and around a pentagon)', () => {
    const resolution = 8;
    const index = new RiderIndex(resolution);
    const random = seeded(7);
    const starts: [number, number][] = [[52.52, 13.405], [-33.87, 151.21], [89.9, 0], cellToLatLng(getPentagons(resolution)[3]!) as [number, number]];
    let moves = 0;
    for (const [s, [lat0, lng0]] of starts.entries()) {
      for (let r = 0; r < 50; r++) {
        const id = `r${s}-${r}`;
        let lat = lat0 + (random() - 0.5) * 0.02;
        let lng = lng0 + (random() - 0.5) * 0.02;
        for (let step = 0; step < 200; step++) {
          // 0 to about 60 m a step, now and then a jump of up to about 2 km
          const far = random() < 0.05 ? 20 : 1;
          lat = Math.max(-90, Math.min(90, lat + (random() - 0.5) * 0.0011 * far));
          lng = ((lng + (random() - 0.5) * 0.0017 * far + 540) % 360) - 180;
          index.move(id, lat, lng);
          moves++;
          expect(index.cellOf(id)).toBe(latLngToCell(lat, lng, resolution));
        }
      }
    }
    expect(moves).toBe(4 * 50 * 200);
    expect(index.size).toBe(200);
    // the buckets agree: the nearest search finds a rider at its exact position
    index.move('probe', 52.52, 13.405);
    expect(index.near(52.52, 13.405, 10, 1, (id) => (id === 'probe' ? { lat: 52.52, lng: 13.405 } : undefined))).toEqual([{ id: 'probe', distanceM: 0 }]);
  });
});
