import { describe, expect, it } from 'vitest';
import { LadderGovernor, type GovernorConfig } from './governor.js';

const ladder = [
  { name: '720p', height: 720, videoKbps: 2800, audioKbps: 128 },
  { name: '480p', height: 480, videoKbps: 1400, audioKbps: 96 },
  { name: '360p', height: 360, videoKbps: 800, audioKbps: 64 },
];

/** A governor on a fake clock, fed a progress report every 500 ms at `speed` x real time. */
function harness(config: GovernorConfig) {
  let now = 1_000_000;
  let out = 0;
  const g = new LadderGovernor(ladder, () => config, () => now);
  g.runStarted();
  return {
    g,
    /** runs `ms` of reports at `speed`; returns the first change (a change restarts the run, as the pipeline does) */
    run(ms: number, speed: number) {
      for (let t = 0; t < ms; t += 500) {
        now += 500;
        out += 500_000 * speed;
        const change = g.progress(out);
        if (change) {
          g.runStarted();
          return { change, atMs: t + 500 };
        }
      }
      return undefined;
    },
  };
}

describe('ladder governor', () => {
  it('drops the costliest rendition below minSpeed, after a warm-up window, down to one', () => {
    const h = harness({ minSpeed: 0.9, speedWindowSeconds: 4, restoreAfterSeconds: 0 });
    expect(h.run(3500, 0.5)).toBeUndefined(); // warm-up
    expect(h.run(1000, 0.5)?.change).toMatchObject({ kind: 'drop', rendition: { name: '720p' } });
    expect(h.run(10_000, 0.5)?.change).toMatchObject({ kind: 'drop', rendition: { name: '480p' } });
    expect(h.run(10_000, 0.5)?.change).toMatchObject({ kind: 'stuck' });
    expect(h.g.ladder.map((r) => r.name)).toEqual(['360p']);
    expect(h.run(60_000, 1)).toBeUndefined(); // restoreAfterSeconds 0: never tried again
  });

  it('tries the last dropped rendition again after restoreAfterSeconds of keeping up, and waits twice as long after a failed try', () => {
    const h = harness({ minSpeed: 0.9, speedWindowSeconds: 2, restoreAfterSeconds: 10 });
    expect(h.run(10_000, 0.5)?.change.kind).toBe('drop');
    const first = h.run(60_000, 1);
    expect(first?.change).toMatchObject({ kind: 'restore', rendition: { name: '720p' } });
    expect(first!.atMs).toBeGreaterThanOrEqual(10_000);
    expect(first!.atMs).toBeLessThan(11_000);
    expect(h.g.ladder.map((r) => r.name)).toEqual(['720p', '480p', '360p']);
    // it does not fit yet: dropped again at once, and the next try waits 20 s
    expect(h.run(10_000, 0.5)?.change).toMatchObject({ kind: 'drop', rendition: { name: '720p' } });
    const second = h.run(60_000, 1);
    expect(second?.change.kind).toBe('restore');
    expect(second!.atMs).toBeGreaterThanOrEqual(20_000);
    // a dip below minSpeed starts the count again
    expect(h.run(10_000, 0.5)?.change.kind).toBe('drop');
    expect(h.run(30_000, 1)).toBeUndefined(); // 40 s wait now
  });
});
