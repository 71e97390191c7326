import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImMessage } from '@infra/core/topics';
import type { Conversation } from './schema.js';
import { inbox, sleep, startTestStack, type TestStack } from '../../test/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ yaml: 'im:\n  syncPageSize: 3\n' });
});
afterAll(async () => stack.close());

type SyncEvent = { kind: 'sync'; requestId: string; messages: ImMessage[]; cursor: string; more: boolean };

describe('sync over MQTT (im/sync request → sync event on im/u/{self})', () => {
  it('pages exactly the gap after a cursor, like GET /im/sync, and refuses bad requests with the requestId', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'ola', { kind: 'direct', members: ['pia'] })).body;
    const ola = await stack.mqtt('ola');
    for (let i = 0; i < 5; i++) await ola.publishAsync('im/send', JSON.stringify({ convId: conv.id, clientMsgId: `o${i}`, type: 'text', body: { text: `m${i}` } }), { qos: 1 });
    // a backend watching everything never sees the requests
    const spy = await stack.mqtt('spy', { role: 'service' });
    const spyBox = inbox(spy);
    await spy.subscribeAsync('#', { qos: 0 });

    const pia = await stack.mqtt('pia');
    const box = inbox(pia);
    await pia.subscribeAsync('im/u/pia', { qos: 1 });
    const ask = async (req: Record<string, unknown>) => {
      await pia.publishAsync('im/sync', JSON.stringify(req), { qos: 1 });
      return (await box.next((e) => e.data['requestId'] === req['requestId'])).data;
    };
    const first = (await ask({ requestId: 'r1' })) as unknown as SyncEvent;
    expect(first).toMatchObject({ kind: 'sync', more: true });
    expect(first.messages.map((m) => m.body['text'])).toEqual(['m0', 'm1', 'm2']); // im.syncPageSize 3
    const second = (await ask({ requestId: 'r2', since: first.cursor, limit: 10 })) as unknown as SyncEvent;
    expect(second.messages.map((m) => m.body['text'])).toEqual(['m3', 'm4']);
    expect(second.more).toBe(false);
    const http = await stack.http<{ messages: ImMessage[]; cursor: string }>('GET', `/im/sync?since=${first.cursor}`, 'pia');
    expect(second.messages).toEqual(http.body.messages);
    expect(second.cursor).toBe(http.body.cursor);
    const none = (await ask({ requestId: 'r3', since: second.cursor })) as unknown as SyncEvent;
    expect([none.messages, none.more, none.cursor]).toEqual([[], false, second.cursor]);

    expect(await ask({ requestId: 'bad1', since: 'yesterday' })).toMatchObject({ kind: 'error', code: 'INFRA_ERR_IM_BAD_MESSAGE' });
    expect(await ask({ requestId: 'bad2', extra: 1 })).toMatchObject({ kind: 'error', code: 'INFRA_ERR_IM_BAD_MESSAGE' });
    await pia.publishAsync('im/sync', '{not json', { qos: 1 });
    await box.next((e) => e.data['code'] === 'INFRA_ERR_MALFORMED_JSON');

    // the answer goes to the asker's inbox only
    const olaBox = inbox(ola);
    await ola.subscribeAsync('im/u/ola', { qos: 1 });
    await ask({ requestId: 'r4' });
    await sleep(150);
    expect(olaBox.seen.filter((e) => e.data['kind'] === 'sync')).toEqual([]);
    expect(spyBox.seen.filter((e) => e.topic === 'im/sync')).toEqual([]);
    expect(pia.connected).toBe(true);
    for (const c of [ola, spy, pia]) await c.endAsync();
  });
});
