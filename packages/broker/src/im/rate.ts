/** A token bucket per user: `rate` sends per second sustained, `burst` at once. Plain numbers, no timers. */
export class SendRateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly rate: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** true when this user may send one more message now */
  take(userId: string): boolean {
    const now = this.now();
    const b = this.buckets.get(userId) ?? { tokens: this.burst, at: now };
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.rate);
    b.at = now;
    this.buckets.set(userId, b);
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    // a full bucket is the default: forget it, so idle users cost nothing
    if (b.tokens >= this.burst - 1 && this.buckets.size > 10_000) this.buckets.delete(userId);
    return true;
  }
}
