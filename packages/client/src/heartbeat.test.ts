import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PresenceState } from '@infra/core/topics';
import { inbox, sleep, startTestStack, type TestStack } from '../../broker/test/stack.js';
import { connectChat } from '../test/chats.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ yaml: 'im:\n  heartbeat: 2s\n' });
  await stack.http('POST', '/im/conversations', 'wes', { kind: 'direct', members: ['xan'] });
});
afterAll(async () => stack.close());

describe('SDK keepalive', () => {
  it('pings at the broker’s im.heartbeat (read from /im/settings) and so stays online while idle', async () => {
    const watcher = await stack.mqtt('xan');
    const box = inbox(watcher);
    await watcher.subscribeAsync('presence/wes', { qos: 1 });
    const chat = await connectChat(stack, 'wes', { clientId: 'wes-sdk' });
    expect(chat.mqtt.options.keepalive).toBe(2);
    await box.next((e) => e.topic === 'presence/wes' && (e.data as unknown as PresenceState).status === 'online');
    await sleep(5000); // idle well past 1.5 × heartbeat
    expect(chat.mqtt.connected).toBe(true);
    expect(box.seen.filter((e) => e.topic === 'presence/wes' && e.data['status'] === 'offline')).toEqual([]);
    await chat.close();
    // an explicit keepalive wins
    const explicit = await connectChat(stack, 'wes', { clientId: 'wes-explicit', keepalive: 1 });
    expect(explicit.mqtt.options.keepalive).toBe(1);
    await explicit.close();
    await watcher.endAsync();
  });
});
