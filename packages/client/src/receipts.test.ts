import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImEvent, ImMessage } from '@infra/core/topics';
import { sleep, startTestStack, type TestStack, until } from '../../broker/test/stack.js';
import { connectChat } from '../test/chats.js';
import { InfraChat } from './index.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.close());

const chat = (userId: string, extra: Parameters<typeof connectChat>[2] = {}): Promise<InfraChat> => connectChat(stack, userId, extra);
type Members = { members: { userId: string; readSeq: number; deliveredSeq: number }[] };

describe('delivery and read receipts', () => {
  it('the recipient’s SDK confirms delivery by itself; the sender sees delivered, then read; marks never go back', async () => {
    const ann = await chat('rc-ann');
    const ben = await chat('rc-ben');
    const annEvents: ImEvent[] = [];
    ann.on('event', (e) => annEvents.push(e));
    const got: ImMessage[] = [];
    ben.on('message', (m) => got.push(m));
    const conv = await ann.createConversation({ kind: 'direct', members: ['rc-ben'] });
    for (const t of ['one', 'two', 'three']) await ann.sendText(conv.id, t);
    await until(() => got.length === 3);
    // one batched receipt for the three
    await until(() => annEvents.some((e) => e.kind === 'delivered' && e.userId === 'rc-ben' && e.seq === 3));
    const members = async (): Promise<Members['members']> => (await stack.http<Members>('GET', `/im/conversations/${conv.id}/members`, 'rc-ann')).body.members;
    expect((await members()).find((m) => m.userId === 'rc-ben')).toMatchObject({ deliveredSeq: 3, readSeq: 0 });
    // the sender's own messages produce no receipt from the sender
    expect(annEvents.some((e) => e.kind === 'delivered' && e.userId === 'rc-ann')).toBe(false);

    await ben.markRead(conv.id, 2);
    await until(() => annEvents.some((e) => e.kind === 'read' && e.userId === 'rc-ben' && e.seq === 2));
    expect((await members()).find((m) => m.userId === 'rc-ben')).toMatchObject({ deliveredSeq: 3, readSeq: 2 });
    // a late receipt for an older seq changes nothing and sends no event; a seq past the end is clamped
    const before = annEvents.length;
    expect(await ben.markDelivered(conv.id, 1)).toEqual({ deliveredSeq: 3 });
    expect(await ben.markDelivered(conv.id, 99)).toEqual({ deliveredSeq: 3 });
    await sleep(200);
    expect(annEvents.filter((e) => e.kind === 'delivered').length).toBe(annEvents.slice(0, before).filter((e) => e.kind === 'delivered').length);
    await Promise.all([ann.close(), ben.close()]);
  });

  it('reading implies delivery; a device with receipts off sends none; outsiders are refused', async () => {
    const cy = await chat('rc-cy');
    const quiet = await chat('rc-dee', { deliveryReceipts: false });
    const got: ImMessage[] = [];
    quiet.on('message', (m) => got.push(m));
    const conv = await cy.createConversation({ kind: 'direct', members: ['rc-dee'] });
    await cy.sendText(conv.id, 'hello');
    await until(() => got.length === 1);
    await sleep(400);
    const dee = async () => (await stack.http<Members>('GET', `/im/conversations/${conv.id}/members`, 'rc-cy')).body.members.find((m) => m.userId === 'rc-dee');
    expect(await dee()).toMatchObject({ deliveredSeq: 0, readSeq: 0 });
    await quiet.markRead(conv.id, 1);
    expect(await dee()).toMatchObject({ deliveredSeq: 1, readSeq: 1 });
    const outsider = await stack.http<{ type: string }>('POST', `/im/conversations/${conv.id}/delivered`, 'rc-eve', { seq: 1 });
    expect(outsider.body.type).toBe('INFRA_ERR_IM_NOT_MEMBER');
    expect((await stack.http('POST', `/im/conversations/${conv.id}/delivered`, 'rc-cy', { seq: -1 })).status).toBe(400);
    await Promise.all([cy.close(), quiet.close()]);
  });
});
