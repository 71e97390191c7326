import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImMessage } from '@infra/core/topics';
import { inbox, sleep, startTestStack, type TestStack } from '../../test/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.close());

/** the CONNACK return code of a refused connect, or 0 when it connected (then closed again) */
async function connackOf(user: string, clientId: string, clean: boolean): Promise<number> {
  try {
    const c = await stack.mqtt(user, { clientId, clean });
    await c.endAsync();
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('client ids belong to one user', () => {
  it('refuses another user the client id of a persistent session (no inbox leak), and gives the owner its queue', async () => {
    const conv = (await stack.http<{ id: string }>('POST', '/im/conversations', 'zed', { kind: 'direct', members: ['amy'] })).body;
    const amy = await stack.mqtt('amy', { clientId: 'amy-phone', clean: false });
    await amy.subscribeAsync('im/u/amy', { qos: 1 });
    await amy.endAsync();
    const zed = await stack.mqtt('zed');
    await zed.publishAsync('im/send', JSON.stringify({ convId: conv.id, clientMsgId: 'q1', type: 'text', body: { text: 'for amy only' } }), { qos: 1 });
    await sleep(200);

    // CONNACK 2 (identifier rejected), persistent or clean: the session is neither read nor discarded
    expect(await connackOf('mallory', 'amy-phone', false)).toBe(2);
    expect(await connackOf('mallory', 'amy-phone', true)).toBe(2);

    const back = await stack.mqtt('amy', { clientId: 'amy-phone', clean: false });
    const box = inbox(back);
    const m = await box.next((e) => e.data['kind'] === 'message');
    expect((m.data['message'] as ImMessage).body).toEqual({ text: 'for amy only' });
    await back.endAsync();

    // the owner ends the session with a clean connect: the id is free again, and holds nothing of amy's
    expect(await connackOf('amy', 'amy-phone', true)).toBe(0);
    await zed.publishAsync('im/send', JSON.stringify({ convId: conv.id, clientMsgId: 'q2', type: 'text', body: { text: 'after the session ended' } }), { qos: 1 });
    const reuse = await stack.mqtt('mallory', { clientId: 'amy-phone', clean: false });
    const rbox = inbox(reuse);
    await sleep(400);
    expect(rbox.seen).toEqual([]);
    await reuse.endAsync();
    await zed.endAsync();
  });

  it('refuses another user a client id that is connected now (no takeover), and lets the same user take over', async () => {
    const first = await stack.mqtt('ann', { clientId: 'ann-laptop' });
    expect(await connackOf('mallory', 'ann-laptop', true)).toBe(2);
    expect(first.connected).toBe(true);
    const closed = new Promise<void>((r) => first.once('close', () => r()));
    const second = await stack.mqtt('ann', { clientId: 'ann-laptop' }); // the same user: the usual MQTT takeover
    await closed;
    expect(second.connected).toBe(true);
    first.end(true);
    await second.endAsync();
  });
});
