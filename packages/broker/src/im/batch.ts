import type { ConversationRow, ImStore, MemberRow } from './store.js';

/**
 * Lookups that cannot change during one batch transaction (only sends run in it: membership and a
 * conversation's kind and expiry stay put), so a burst into one conversation reads them once.
 */
export class BatchMemo {
  private readonly convs = new Map<string, Promise<ConversationRow | undefined>>();
  private readonly members = new Map<string, Promise<MemberRow | undefined>>();
  private readonly audiences = new Map<string, Promise<string[]>>();

  constructor(private readonly tx: ImStore) {}

  conversation(id: string): Promise<ConversationRow | undefined> {
    let p = this.convs.get(id);
    if (!p) this.convs.set(id, (p = this.tx.conversation(id)));
    return p;
  }

  member(convId: string, userId: string): Promise<MemberRow | undefined> {
    const key = `${convId}|${userId}`;
    let p = this.members.get(key);
    if (!p) this.members.set(key, (p = this.tx.member(convId, userId)));
    return p;
  }

  audience(convId: string): Promise<string[]> {
    let p = this.audiences.get(convId);
    if (!p) this.audiences.set(convId, (p = this.tx.memberIds(convId)));
    return p;
  }
}

