import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImMessage } from '@infra/core/topics';
import { startTestStack, type TestStack } from '../../broker/test/stack.js';
import { connectChat } from '../test/chats.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ yaml: 'im:\n  syncPageSize: 4\n' });
});
afterAll(async () => stack.close());

describe('SDK sync over MQTT (syncOver: mqtt)', () => {
  it('catches a device up from its cursor through im/sync pages: exactly the gap, in order, nothing twice', async () => {
    const eli = await connectChat(stack, 'eli');
    const conv = await eli.createConversation({ kind: 'direct', members: ['fox'] });
    const phone = await connectChat(stack, 'fox', { clientId: 'fox-phone', syncOver: 'mqtt' });
    await eli.sendText(conv.id, 'before');
    await phone.sync(); // 'before' came live; the sync moves the cursor past it
    expect(phone.cursor).toBeDefined();
    const cursor = phone.cursor;
    await phone.close();

    for (let i = 0; i < 10; i++) await eli.sendText(conv.id, `gap-${i}`);
    // another device of fox syncing over MQTT at the same time: its answers reach the phone's inbox too, and are ignored
    const tablet = await connectChat(stack, 'fox', { clientId: 'fox-tablet', syncOver: 'mqtt' });
    const back = await connectChat(stack, 'fox', { clientId: 'fox-phone', syncOver: 'mqtt', ...(cursor ? { cursor } : {}) });
    const got: ImMessage[] = [];
    back.on('message', (m) => got.push(m));
    const syncEvents: string[] = [];
    back.on('event', (e) => e.kind === 'sync' && syncEvents.push(e.requestId));
    const [fresh] = await Promise.all([back.sync(), tablet.sync()]);
    const texts = fresh.map((m) => m.body['text']);
    expect(texts).toEqual(Array.from({ length: 10 }, (_, i) => `gap-${i}`)); // 10 messages over pages of 4
    expect(new Set(got.map((m) => m.seq)).size).toBe(got.length);
    expect(await back.sync()).toEqual([]);
    expect(syncEvents.length).toBeGreaterThanOrEqual(3); // pages of 4 came as sync events on the inbox (its own and the tablet's)
    for (const c of [eli, tablet, back]) await c.close();
  });
});
