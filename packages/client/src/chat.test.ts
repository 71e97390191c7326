import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ImMessage, PresenceState } from '@infra/core/topics';
import { sleep, startTestStack, type TestStack, until } from '../../broker/test/stack.js';
import { connectChat } from '../test/chats.js';
import { InfraChat, ImError } from './index.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.close());

const chat = (userId: string, extra: Parameters<typeof connectChat>[2] = {}): Promise<InfraChat> => connectChat(stack, userId, extra);


describe('SDK (InfraChat)', () => {
  it('sends with a clientMsgId, receives live, and a retried send is stored and shown once', async () => {
    const alice = await chat('alice');
    const bob = await chat('bob');
    const got: ImMessage[] = [];
    bob.on('message', (m) => got.push(m));
    const conv = await alice.createConversation({ kind: 'direct', members: ['bob'] });
    const ack = await alice.sendText(conv.id, 'hello bob');
    expect(ack).toMatchObject({ kind: 'ack', seq: 1, duplicate: false });
    const again = await alice.send(conv.id, 'text', { text: 'hello bob' }, { clientMsgId: ack.clientMsgId });
    expect(again).toMatchObject({ seq: 1, duplicate: true });

    // an impatient client (1 ms ack timeout) publishes again and again until the ack comes; the broker stores it once
    // (with the default 3 retries the ack had to come within about 4 ms, which a loaded CI machine did not always do)
    const hasty = await chat('alice', { ackTimeoutMs: 1, retries: 1000 });
    const hastyAck = await hasty.sendText(conv.id, 'are you there?');
    expect(hastyAck.seq).toBe(2);
    await until(() => got.length === 2);
    await sleep(200);
    expect(got.map((m) => [m.seq, m.body['text']])).toEqual([[1, 'hello bob'], [2, 'are you there?']]);

    await expect(alice.sendText('conv_nope', 'x')).rejects.toMatchObject({ code: 'INFRA_ERR_IM_CONVERSATION_NOT_FOUND' });
    await expect(alice.send(conv.id, 'location', { lat: 500, lng: 0 })).rejects.toBeInstanceOf(ImError);
    await expect(bob.markRead('conv_nope', 1)).rejects.toMatchObject({ code: 'INFRA_ERR_IM_CONVERSATION_NOT_FOUND', status: 404 });
    expect(await bob.markRead(conv.id, 2)).toEqual({ readSeq: 2, unread: 0 });
    for (const c of [alice, bob, hasty]) await c.close();
  });

  it('shows a sent message once on every device of the sender, and once on the peer', async () => {
    const phone = await chat('erin', { clientId: 'erin-phone' });
    const laptop = await chat('erin', { clientId: 'erin-laptop' });
    const fred = await chat('fred');
    const seen = new Map<string, ImMessage[]>([['phone', []], ['laptop', []], ['fred', []]]);
    phone.on('message', (m) => seen.get('phone')!.push(m));
    laptop.on('message', (m) => seen.get('laptop')!.push(m));
    fred.on('message', (m) => seen.get('fred')!.push(m));
    const conv = await phone.createConversation({ kind: 'direct', members: ['fred'] });
    await phone.sendText(conv.id, 'from my phone');
    await fred.sendText(conv.id, 'hi erin');
    await laptop.sendText(conv.id, 'and from my laptop');
    await until(() => [...seen.values()].every((l) => l.length === 3));
    await sleep(200);
    for (const [who, list] of seen) expect([who, list.map((m) => `${m.seq}:${m.senderId}:${m.body['text']}`)]).toEqual([who, ['1:erin:from my phone', '2:fred:hi erin', '3:erin:and from my laptop']]);
    for (const c of [phone, laptop, fred]) await c.close();
  });

  it('catches a device up from its persisted cursor: exactly the gap, nothing twice', async () => {
    const carl = await chat('carl');
    const conv = await carl.createConversation({ kind: 'direct', members: ['dina'] });
    const tablet = await chat('dina', { clientId: 'dina-tablet' });
    await tablet.sync();
    await carl.sendText(conv.id, 'one');
    await until(() => tablet.cursor !== undefined);
    await tablet.sync();
    const saved = tablet.cursor;
    await tablet.close();

    for (const t of ['two', 'three', 'four']) await carl.sendText(conv.id, t);
    const back = await chat('dina', { clientId: 'dina-tablet', ...(saved ? { cursor: saved } : {}) });
    const seen: ImMessage[] = [];
    back.on('message', (m) => seen.push(m));
    const fresh = await back.sync();
    expect(fresh.map((m) => m.body['text'])).toEqual(['two', 'three', 'four']);
    await carl.sendText(conv.id, 'five');
    await until(() => seen.length === 4);
    expect(await back.sync()).toEqual([]); // 'five' came live; sync returns it but it is not handed over twice
    expect(seen.map((m) => m.seq)).toEqual([2, 3, 4, 5]);
    await back.close();
    await carl.close();
  });

  it('watches a contact’s presence', async () => {
    const erin = await chat('erin');
    await erin.createConversation({ kind: 'direct', members: ['finn'] });
    const states: PresenceState[] = [];
    erin.on('presence', (p) => states.push(p));
    await erin.watchPresence('finn');
    const finn = await chat('finn', { clientId: 'finn-1' });
    await until(() => states.some((s) => s.status === 'online'));
    await finn.setAway(true);
    await until(() => states.some((s) => s.status === 'away'));
    await finn.close();
    await until(() => states[states.length - 1]?.status === 'offline');
    await expect(erin.watchPresence('stranger')).rejects.toMatchObject({ code: 'INFRA_ERR_FORBIDDEN' });
    await erin.close();
  });

  it('imports only light subpaths of core (never the index, which pulls SQLite)', () => {
    const dist = join(import.meta.dirname, '..', 'dist');
    for (const f of readdirSync(dist).filter((n) => n.endsWith('.js'))) {
      const src = readFileSync(join(dist, f), 'utf8');
      expect(src).not.toMatch(/from ['"]@infra\/core['"]/);
    }
  });
});
