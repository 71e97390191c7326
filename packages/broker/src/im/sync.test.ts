import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImMessage } from '@infra/core/topics';
import type { Conversation } from './schema.js';
import { inbox, sleep, startTestStack, type TestStack } from '../../test/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ yaml: 'im:\n  syncPageSize: 7\n' });
});
afterAll(async () => stack.close());

type SyncPage = { messages: ImMessage[]; cursor: string; more: boolean };

/** What a device does after reconnecting: page through sync from its own cursor until there is no more. */
async function catchUp(user: string, cursor: string | undefined): Promise<{ messages: ImMessage[]; cursor: string | undefined; pages: number }> {
  const messages: ImMessage[] = [];
  let pages = 0;
  for (;;) {
    const page = await stack.http<SyncPage>('GET', `/im/sync${cursor === undefined ? '' : `?since=${cursor}`}`, user);
    expect(page.status).toBe(200);
    pages++;
    messages.push(...page.body.messages);
    cursor = page.body.cursor;
    if (!page.body.more) return { messages, cursor, pages };
  }
}

describe('sync and offline delivery', () => {
  it('brings a device that was offline for a while to the same history as the online one, nothing twice', async () => {
    const direct = (await stack.http<Conversation>('POST', '/im/conversations', 'ann', { kind: 'direct', members: ['ben'] })).body;
    const group = (await stack.http<Conversation>('POST', '/im/conversations', 'cat', { kind: 'group', members: ['ben', 'ann'] })).body;
    const ann = await stack.mqtt('ann');
    const cat = await stack.mqtt('cat');
    const phone = await stack.mqtt('ben', { clientId: 'ben-phone' });
    const phoneBox = inbox(phone);
    await phone.subscribeAsync('im/u/ben', { qos: 1 });

    // the laptop syncs once, then goes offline
    const first = await catchUp('ben', undefined);
    expect(first.messages).toEqual([]);
    let laptopCursor = first.cursor;

    const publish = (c: typeof ann, convId: string, id: string) => c.publishAsync('im/send', JSON.stringify({ convId, clientMsgId: id, type: 'text', body: { text: id } }), { qos: 1 });
    for (let i = 0; i < 12; i++) {
      await publish(ann, direct.id, `a${i}`);
      await publish(cat, group.id, `c${i}`);
    }
    // the laptop wakes up halfway, pulls, sleeps again
    const mid = await catchUp('ben', laptopCursor);
    laptopCursor = mid.cursor;
    for (let i = 12; i < 20; i++) await publish(ann, direct.id, `a${i}`);
    // a resend of an old message must not reappear
    await publish(cat, group.id, 'c3');
    await phoneBox.next((e) => (e.data['message'] as ImMessage | undefined)?.clientMsgId === 'a19');
    await sleep(100);

    const rest = await catchUp('ben', laptopCursor);
    expect(rest.pages).toBeGreaterThan(1); // the page size (7) forced paging
    const laptop = [...mid.messages, ...rest.messages];
    const phoneMessages = phoneBox.seen.filter((e) => e.data['kind'] === 'message').map((e) => e.data['message'] as ImMessage);
    const key = (m: ImMessage): string => `${m.convId}#${m.seq}`;
    expect(new Set(laptop.map(key)).size).toBe(laptop.length);
    expect(laptop.map(key)).toEqual(phoneMessages.map(key));
    expect(laptop).toHaveLength(32);
    for (const convId of [direct.id, group.id]) {
      const seqs = laptop.filter((m) => m.convId === convId).map((m) => m.seq);
      expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    }
    // nothing new: an empty page that keeps the cursor
    const none = await stack.http<SyncPage>('GET', `/im/sync?since=${rest.cursor}`, 'ben');
    expect(none.body).toEqual({ messages: [], cursor: rest.cursor, more: false });
    const bad = await stack.http<{ type: string }>('GET', '/im/sync?since=abc', 'ben');
    expect([bad.status, bad.body.type]).toEqual([400, 'INFRA_ERR_VALIDATION']);

    // scrollback, page by page, oldest first within a page
    const page1 = await stack.http<{ messages: ImMessage[]; more: boolean }>('GET', `/im/conversations/${direct.id}/messages?limit=5`, 'ben');
    expect(page1.body.messages.map((m) => m.seq)).toEqual([16, 17, 18, 19, 20]);
    expect(page1.body.more).toBe(true);
    const page2 = await stack.http<{ messages: ImMessage[]; more: boolean }>('GET', `/im/conversations/${direct.id}/messages?before=16&limit=100`, 'ben');
    expect(page2.body.messages.map((m) => m.seq)).toEqual([9, 10, 11, 12, 13, 14, 15]); // im.syncPageSize (7) caps the limit
    const outsider = await stack.http<{ type: string }>('GET', `/im/conversations/${direct.id}/messages`, 'cat');
    expect(outsider.body.type).toBe('INFRA_ERR_IM_NOT_MEMBER');

    // a member added later does not get the history before they joined
    await stack.http('POST', `/im/conversations/${group.id}/members`, 'cat', { userIds: ['dee'] });
    expect((await catchUp('dee', undefined)).messages).toEqual([]);
    expect((await stack.http<{ messages: ImMessage[] }>('GET', `/im/conversations/${group.id}/messages`, 'dee')).body.messages).toEqual([]);
    for (const c of [ann, cat, phone]) await c.endAsync();
  });

  it('keeps read marks per member, unread counts per conversation, and tells the others', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'eli', { kind: 'direct', members: ['flo'] })).body;
    const eli = await stack.mqtt('eli');
    const eliBox = inbox(eli);
    await eli.subscribeAsync('im/u/eli', { qos: 1 });
    for (let i = 0; i < 5; i++) await eli.publishAsync('im/send', JSON.stringify({ convId: conv.id, clientMsgId: `e${i}`, type: 'text', body: { text: String(i) } }), { qos: 1 });
    await eliBox.next((e) => e.data['kind'] === 'ack' && e.data['seq'] === 5);

    const unreadOf = async (user: string): Promise<number | undefined> =>
      (await stack.http<{ conversations: Conversation[] }>('GET', '/im/conversations', user)).body.conversations.find((c) => c.id === conv.id)?.unread;
    expect(await unreadOf('flo')).toBe(5);
    expect(await unreadOf('eli')).toBe(0); // own messages are never unread

    const read = await stack.http<{ readSeq: number; unread: number }>('POST', `/im/conversations/${conv.id}/read`, 'flo', { seq: 3 });
    expect(read.body).toEqual({ readSeq: 3, unread: 2 });
    expect((await eliBox.next((e) => e.data['kind'] === 'read')).data).toEqual({ kind: 'read', convId: conv.id, userId: 'flo', seq: 3 });
    // a late, older receipt does not move the mark back; a receipt past the end is clamped
    expect((await stack.http<{ readSeq: number }>('POST', `/im/conversations/${conv.id}/read`, 'flo', { seq: 1 })).body.readSeq).toBe(3);
    expect((await stack.http<{ readSeq: number; unread: number }>('POST', `/im/conversations/${conv.id}/read`, 'flo', { seq: 99 })).body).toEqual({ readSeq: 5, unread: 0 });
    const stranger = await stack.http<{ type: string }>('POST', `/im/conversations/${conv.id}/read`, 'gil', { seq: 1 });
    expect(stranger.body.type).toBe('INFRA_ERR_IM_NOT_MEMBER');
    await eli.endAsync();
  });
});
