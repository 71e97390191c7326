import type { Kysely } from 'kysely';
import { GroupCommit } from '@infra/core';
import { isSafeTopicSegment, type TopicGrant } from '@infra/core/topics';
import { grantStore, type GrantTables } from './store.js';

const NEVER = Number.POSITIVE_INFINITY;

/** A grantable topic: exact (no wildcards), not a `$` topic, safe segments only. */
function isGrantableTopic(topic: string): boolean {
  if (topic.length === 0 || topic.length > 256 || topic.charCodeAt(0) === 36 /* $ */) return false;
  return topic.split('/').every(isSafeTopicSegment);
}

/** Parses a grant message; a string saying what is wrong when it is not one. */
export function parseGrant(payload: Buffer | string): TopicGrant | string {
  let v: unknown;
  try {
    v = JSON.parse(payload.toString());
  } catch {
    return 'payload is not JSON';
  }
  if (typeof v !== 'object' || v === null) return 'payload is not an object';
  const g = v as Record<string, unknown>;
  const known = g.op === 'grant' ? ['op', 'user', 'topic', 'expiresAt'] : ['op', 'user', 'topic'];
  if (g.op !== 'grant' && g.op !== 'revoke') return 'op must be "grant" or "revoke"';
  const unknown = Object.keys(g).filter((k) => !known.includes(k));
  if (unknown.length) return `unknown field ${unknown.join(', ')}`;
  if (typeof g.user !== 'string' || !isSafeTopicSegment(g.user)) return 'user must be a user id';
  if (typeof g.topic !== 'string' || !isGrantableTopic(g.topic)) return 'topic must be one exact topic (no wildcards, not $…)';
  if (g.op === 'revoke') return { op: 'revoke', user: g.user, topic: g.topic };
  if (g.expiresAt !== undefined && (typeof g.expiresAt !== 'number' || !Number.isSafeInteger(g.expiresAt))) return 'expiresAt must be epoch milliseconds';
  return { op: 'grant', user: g.user, topic: g.topic, ...(g.expiresAt !== undefined ? { expiresAt: g.expiresAt } : {}) };
}

/**
 * Topic grants: which user may additionally subscribe to which exact topic, and until when. Held in memory for the
 * ACL's hot path (one Map lookup per check), written through to SQL so they survive a restart.
 */
export class GrantTable {
  /** topic -> user -> expires at (epoch ms, Infinity = until revoked) */
  private readonly byTopic = new Map<string, Map<string, number>>();
  private readonly waiters = new Map<string, Set<() => void>>();

  /** grants arriving together (a relay batch) are stored in one commit */
  private readonly writes: GroupCommit<GrantTables>;

  private constructor(private readonly db: Kysely<GrantTables>, private readonly now: () => number) {
    this.writes = new GroupCommit(db);
  }

  static async open(db: Kysely<GrantTables>, now: () => number = Date.now): Promise<GrantTable> {
    const table = new GrantTable(db, now);
    await grantStore.purgeExpired(db, now());
    for (const r of await grantStore.live(db, now())) table.set(r.user_id, r.topic, r.expires_at ?? NEVER);
    return table;
  }

  /** Whether `user` holds a grant for exactly `topic` right now. */
  allows(user: string, topic: string): boolean {
    const until = this.byTopic.get(topic)?.get(user);
    return until !== undefined && until > this.now();
  }

  /** Resolves true as soon as a grant for (user, topic) is in force, false after `ms` without one. */
  waitFor(user: string, topic: string, ms: number): Promise<boolean> {
    if (this.allows(user, topic)) return Promise.resolve(true);
    const key = `${user}\n${topic}`;
    return new Promise((resolve) => {
      const set = this.waiters.get(key) ?? new Set();
      this.waiters.set(key, set);
      const wake = (): void => {
        clearTimeout(timer);
        set.delete(wake);
        if (set.size === 0) this.waiters.delete(key);
        resolve(this.allows(user, topic));
      };
      const timer = setTimeout(wake, ms);
      set.add(wake);
    });
  }

  /** Applies a grant or revoke: durable first, then in force. */
  async apply(g: TopicGrant): Promise<void> {
    if (g.op === 'revoke') {
      await this.writes.run((trx) => grantStore.remove(trx, g.user, g.topic));
      const users = this.byTopic.get(g.topic);
      users?.delete(g.user);
      if (users?.size === 0) this.byTopic.delete(g.topic);
      return;
    }
    const until = g.expiresAt ?? NEVER;
    await this.writes.run((trx) => grantStore.upsert(trx, { user_id: g.user, topic: g.topic, expires_at: g.expiresAt ?? null, granted_at: this.now() }));
    this.set(g.user, g.topic, until);
    for (const wake of [...(this.waiters.get(`${g.user}\n${g.topic}`) ?? [])]) wake();
  }

  /** Drops expired grants from memory and SQL (run now and then). */
  async purge(): Promise<number> {
    const now = this.now();
    for (const [topic, users] of this.byTopic) {
      for (const [user, until] of users) if (until <= now) users.delete(user);
      if (users.size === 0) this.byTopic.delete(topic);
    }
    return grantStore.purgeExpired(this.db, now);
  }

  get size(): number {
    let n = 0;
    for (const users of this.byTopic.values()) n += users.size;
    return n;
  }

  private set(user: string, topic: string, until: number): void {
    let users = this.byTopic.get(topic);
    if (!users) this.byTopic.set(topic, (users = new Map()));
    users.set(user, until);
  }
}
