import type { ImStore } from './store.js';

/**
 * Members of channels that someone subscribed to, kept in memory so authorizeForward (synchronous, per
 * recipient) can stop the broadcast to a member who left or was removed after subscribing.
 */
export class ChannelAudience {
  private readonly members = new Map<string, Set<string>>();

  constructor(private readonly store: ImStore) {}

  async load(convId: string): Promise<void> {
    this.members.set(convId, new Set(await this.store.memberIds(convId)));
  }

  /** membership changed (synchronously, so a removed member gets nothing more) */
  update(convId: string, userId: string, present: boolean): void {
    const set = this.members.get(convId);
    if (!set) return;
    if (present) set.add(userId);
    else set.delete(userId);
  }

  /** false only when we know the user is not a member */
  mayReceive(convId: string, userId: string): boolean {
    const set = this.members.get(convId);
    return set === undefined || set.has(userId);
  }
}
