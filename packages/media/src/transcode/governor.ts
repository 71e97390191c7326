import type { Rendition } from './ladder.js';

export interface GovernorConfig {
  /** real-time factor the ladder must hold (0 = never drop) */
  minSpeed: number;
  speedWindowSeconds: number;
  /** seconds of keeping up before a dropped rendition is tried again (0 = never) */
  restoreAfterSeconds: number;
}

export type LadderChange =
  | { kind: 'drop'; rendition: Rendition; speed: number }
  | { kind: 'restore'; rendition: Rendition; speed: number; waitedMs: number }
  | { kind: 'stuck'; speed: number };

/**
 * Decides, from ffmpeg's progress reports, which renditions of a live ladder run. Below media.hls.minSpeed over
 * the window, the costliest encoded rendition is dropped. After media.hls.restoreAfterSeconds of keeping up again,
 * the last dropped one is tried again; a live input never runs faster than real time, so only trying tells whether
 * it fits now. If it is dropped again soon after, the next try waits twice as long (up to 16x), so a machine that
 * stays busy does not see the ladder restart every few minutes.
 */
export class LadderGovernor {
  /** dropped renditions, most recently dropped last */
  readonly dropped: Rendition[] = [];
  private samples: { wall: number; out: number }[] = [];
  private runStartedAt = 0;
  private keepingUpSince = 0;
  private restoreWaitMs: number;
  private lastRestoreAt = -Infinity;
  private stuckReported = false;

  constructor(private readonly all: readonly Rendition[], private readonly config: () => GovernorConfig, private readonly now: () => number = Date.now) {
    this.restoreWaitMs = config().restoreAfterSeconds * 1000;
  }

  /** what the ladder encodes now, in the configured order */
  get ladder(): Rendition[] {
    return this.all.filter((r) => !this.dropped.includes(r));
  }

  /** a new ffmpeg run: measuring starts afresh (warm-up of one window) */
  runStarted(): void {
    this.samples = [];
    this.runStartedAt = this.keepingUpSince = this.now();
  }

  /** One progress report (output time in µs); returns the change to make, if any. */
  progress(outUs: number): LadderChange | undefined {
    const { minSpeed, speedWindowSeconds, restoreAfterSeconds } = this.config();
    const now = this.now();
    const windowMs = speedWindowSeconds * 1000;
    this.samples.push({ wall: now, out: outUs });
    while (this.samples.length > 2 && now - this.samples[1]!.wall >= windowMs) this.samples.shift();
    const first = this.samples[0]!;
    if (now - this.runStartedAt < windowMs || now - first.wall < windowMs * 0.9) return undefined;
    const speed = Number(((outUs - first.out) / 1000 / (now - first.wall)).toFixed(2));

    if (speed < minSpeed) {
      this.keepingUpSince = now;
      const ladder = this.ladder;
      const encoded = ladder.filter((r) => r.height > 0);
      if (ladder.length <= 1 || encoded.length === 0) {
        this.samples = [];
        if (this.stuckReported) return undefined;
        this.stuckReported = true;
        return { kind: 'stuck', speed };
      }
      const costliest = encoded.reduce((a, b) => (b.height > a.height ? b : a));
      this.dropped.push(costliest);
      // dropped again soon after a restore: it did not fit; wait longer before the next try
      if (now - this.lastRestoreAt < this.restoreWaitMs + 3 * windowMs) this.restoreWaitMs = Math.min(this.restoreWaitMs * 2, restoreAfterSeconds * 16_000);
      return { kind: 'drop', rendition: costliest, speed };
    }
    this.stuckReported = false;
    if (this.dropped.length > 0 && restoreAfterSeconds > 0 && now - this.keepingUpSince >= this.restoreWaitMs) {
      const rendition = this.dropped.pop()!;
      this.lastRestoreAt = now;
      return { kind: 'restore', rendition, speed, waitedMs: now - this.keepingUpSince };
    }
    return undefined;
  }
}
