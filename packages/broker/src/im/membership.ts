import type { MemberRole } from '@infra/core/topics';
import type { ConversationRow, ImStore } from './store.js';

/** What a send needs to know about its conversation: facts that only membership changes (made by ImService) alter. */
export interface ConversationFacts {
  conv: Pick<ConversationRow, 'id' | 'kind' | 'expires_at'>;
  /** member id → what decides whether they may post */
  members: Map<string, { role: MemberRole; muted: boolean }>;
  /** the member ids, in the order delivery uses */
  audience: string[];
}

/**
 * Conversation kind, expiry and members, kept across send batches (a chat sends many messages into the same
 * conversations; reading them for every batch was three queries per conversation per batch). Bounded (LRU) by the
 * number of member entries it holds, so a few large groups cannot grow it without limit.
 *
 * Correctness rests on one rule: every write to im_members goes through ImService, which calls `invalidate` before
 * it starts writing and again after it committed. A load that was under way at an invalidation is not kept (the
 * epoch moved), so the cache never holds a state older than the last committed membership change. One process
 * owns im.db on the embedded default; a scaled-out deployment with several writers must not use this cache.
 */
export class MembershipCache {
  private readonly entries = new Map<string, ConversationFacts>();
  private epoch = 0;
  /** member entries held, over all cached conversations */
  private held = 0;

  constructor(private readonly maxMembers = 200_000) {}

  /** The facts of `convId` read through `store` (inside the caller's transaction), or undefined when there is no such conversation. */
  async facts(store: ImStore, convId: string): Promise<ConversationFacts | undefined> {
    const hit = this.entries.get(convId);
    if (hit) {
      this.entries.delete(convId); // re-insert: Map order is the LRU order (held stays the same)
      this.entries.set(convId, hit);
      return hit;
    }
    const epoch = this.epoch;
    const conv = await store.conversation(convId);
    if (!conv) return undefined; // misses are not cached: the conversation may be created any moment
    const rows = await store.members(convId);
    const facts: ConversationFacts = {
      conv: { id: conv.id, kind: conv.kind, expires_at: conv.expires_at },
      members: new Map(rows.map((m) => [m.user_id, { role: m.role, muted: m.muted === 1 }])),
      audience: rows.map((m) => m.user_id),
    };
    if (epoch === this.epoch && !this.entries.has(convId)) {
      this.entries.set(convId, facts);
      this.held += facts.audience.length + 1;
      for (const [oldest, old] of this.entries) {
        if (this.held <= this.maxMembers || oldest === convId) break;
        this.entries.delete(oldest);
        this.held -= old.audience.length + 1;
      }
    }
    return facts;
  }

  /** Membership of `convId` is about to change or just changed. */
  invalidate(convId: string): void {
    this.epoch++;
    const gone = this.entries.get(convId);
    if (!gone) return;
    this.entries.delete(convId);
    this.held -= gone.audience.length + 1;
  }
}
