/**
 * HLS viewers are stateless HTTP clients: one counts as watching while it fetched a playlist of the
 * stream within the window (players refresh live playlists every segment). Keyed by address + user agent.
 */
export class HlsViewers {
  private readonly seen = new Map<string, Map<string, number>>();

  constructor(private readonly windowMs: number, private readonly now: () => number = Date.now) {}

  touch(streamId: string, client: string): void {
    let clients = this.seen.get(streamId);
    if (!clients) this.seen.set(streamId, (clients = new Map()));
    if (clients.size < 100_000) clients.set(client, this.now());
  }

  count(streamId: string): number {
    const clients = this.seen.get(streamId);
    if (!clients) return 0;
    const cutoff = this.now() - this.windowMs;
    for (const [k, t] of clients) if (t < cutoff) clients.delete(k);
    if (clients.size === 0) this.seen.delete(streamId);
    return clients.size;
  }
}
