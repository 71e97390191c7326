import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openBrokerPersistence } from './persistence.js';
import { inbox, sleep, startTestStack, type TestStack } from '../test/stack.js';

let stack: TestStack | undefined;
afterAll(async () => stack?.close());

describe('durable broker state (aedes-persistence-level under data.dir/broker)', () => {
  it('delivers QoS 1 messages queued for a persistent session, and keeps retained messages, across a broker restart', async () => {
    stack = await startTestStack({ http: false });
    const dataDir = stack.dataDir;
    const device = await stack.mqtt('u1', { clientId: 'u1-phone', clean: false });
    await device.subscribeAsync('im/u/u1', { qos: 1 });
    await device.endAsync();

    for (let i = 1; i <= 5; i++) await stack.broker.bus.publish('im/u/u1', JSON.stringify({ n: i }), { qos: 1 });
    await stack.broker.bus.publish('presence/u9', JSON.stringify({ retained: true }), { qos: 1, retain: true });
    // what a crash leaves behind: a retained "online" nobody will clear
    await stack.broker.bus.publish('presence/ghost', JSON.stringify({ userId: 'ghost', status: 'online', devices: [{ clientId: 'g', since: '2026-01-01T00:00:00.000Z' }], lastSeen: '2026-01-01T00:00:00.000Z' }), { qos: 1, retain: true });
    await stack.close(false);
    expect(existsSync(join(dataDir, 'broker'))).toBe(true);

    stack = await startTestStack({ dataDir, http: false });
    const again = await stack.mqtt('u1', { clientId: 'u1-phone', clean: false, manualConnect: false });
    const got = inbox(again);
    await got.next((e) => e.data['n'] === 5);
    await sleep(100);
    expect(got.seen.filter((e) => e.topic === 'im/u/u1').map((e) => e.data['n'])).toEqual([1, 2, 3, 4, 5]);

    // the subscription survived too: a new message arrives without subscribing again
    await stack.broker.bus.publish('im/u/u1', JSON.stringify({ n: 6 }), { qos: 1 });
    await got.next((e) => e.data['n'] === 6);
    await again.endAsync();

    const service = await stack.mqtt('svc', { role: 'service' });
    const retained = inbox(service);
    await service.subscribeAsync('presence/u9', { qos: 1 });
    expect((await retained.next((e) => e.topic === 'presence/u9')).data).toEqual({ retained: true });
    await service.subscribeAsync('presence/ghost', { qos: 1 });
    expect((await retained.next((e) => e.topic === 'presence/ghost')).data).toEqual({ userId: 'ghost', status: 'offline', devices: [], lastSeen: '2026-01-01T00:00:00.000Z' });
    await service.endAsync();
  });

  it('looks up no subscribers and so queues nothing for the topics the broker consumes; other topics as before', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-broker-persistence-'));
    const durable = await openBrokerPersistence(dir, ['im/send', 'im/sync']);
    try {
      type Sub = { clientId: string; topic: string };
      const p = durable.persistence as { addSubscriptions(client: { id: string }, subs: { topic: string; qos: number }[]): Promise<void>; subscriptionsByTopic(topic: string): Promise<Sub[]> };
      // a backend with a persistent session watching everything
      await p.addSubscriptions({ id: 'backend-1' }, [{ topic: '#', qos: 1 }]);
      expect(await p.subscriptionsByTopic('im/send')).toEqual([]);
      expect(await p.subscriptionsByTopic('im/sync')).toEqual([]);
      expect((await p.subscriptionsByTopic('im/u/amy')).map((s) => [s.clientId, s.topic])).toEqual([['backend-1', '#']]);
      expect((await p.subscriptionsByTopic('im/sendx')).map((s) => s.clientId)).toEqual(['backend-1']);
    } finally {
      await durable.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
