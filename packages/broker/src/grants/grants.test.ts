import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createLogger, parseConfigText, TokenIssuer, topics, type Role } from '@infra/core';
import type { TopicGrant } from '@infra/core/topics';
import { startBroker, type RunningBroker } from '../broker.js';
import { parseGrant } from './service.js';

const secret = 'g'.repeat(43);
const issuer = new TokenIssuer(secret);
const dataDir = mkdtempSync(join(tmpdir(), 'infra-grants-'));
const config = parseConfigText('version: 1\nmqtt:\n  port: 0\n', 'infra.yaml', {}, []);
const start = (): Promise<RunningBroker> => startBroker({ config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43) }, logger: createLogger({ level: 'silent' }), dataDir }, { issuer });
let broker: RunningBroker;
const url = (): string => broker.endpoints[0]?.url as string;

beforeAll(async () => {
  broker = await start();
});
afterAll(async () => {
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function client(user: string, role: Role): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url(), { protocolVersion: 4, username: user, password: await issuer.sign(user, role, 600), reconnectPeriod: 0 }, false);
}
const grant = (g: TopicGrant): Promise<void> => broker.bus.publish(topics.aclGrants, JSON.stringify(g), { qos: 1 });
/** whether the broker grants a subscription to `topic` (mqtt.js rejects a SUBACK 0x80) */
const granted = (c: mqtt.MqttClient, topic: string): Promise<boolean> =>
  c.subscribeAsync(topic, { qos: 1 }).then((g) => g[0]?.qos !== 128, (err: Error) => (/Subscribe error/.test(err.message) ? false : Promise.reject(err)));
/** the payloads `c` receives on `topic` within `ms` */
function collect(c: mqtt.MqttClient, topic: string): () => string[] {
  const got: string[] = [];
  c.on('message', (t, p) => t === topic && got.push(p.toString()));
  return () => got;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('topic grants', () => {
  it('refuses a device an ungranted topic, then lets it subscribe and receive once a backend grants it', async () => {
    const c = await client('cust1', 'user');
    try {
      expect(await granted(c, 'orders/o1')).toBe(false);
      await grant({ op: 'grant', user: 'cust1', topic: 'orders/o1' });
      expect(await granted(c, 'orders/o1')).toBe(true);
      const got = collect(c, 'orders/o1');
      await broker.bus.publish('orders/o1', 'shipped', { qos: 1 });
      await sleep(100);
      expect(got()).toEqual(['shipped']);
      // the grant is for that user and that exact topic only
      expect(await granted(c, 'orders/o2')).toBe(false);
      expect(await granted(c, 'orders/+')).toBe(false);
      const other = await client('cust2', 'user');
      expect(await granted(other, 'orders/o1')).toBe(false);
      await other.endAsync(true);
    } finally {
      await c.endAsync(true);
    }
  });

  it('answers a subscribe that arrives just before its grant once the grant lands', async () => {
    const c = await client('cust3', 'user');
    try {
      const pending = granted(c, 'orders/o3');
      await sleep(150);
      await grant({ op: 'grant', user: 'cust3', topic: 'orders/o3' });
      expect(await pending).toBe(true);
    } finally {
      await c.endAsync(true);
    }
  });

  it('stops delivering after a revoke, even though the subscription stays in the session', async () => {
    const c = await client('cust4', 'user');
    try {
      await grant({ op: 'grant', user: 'cust4', topic: 'fleet/r9/loc' });
      expect(await granted(c, 'fleet/r9/loc')).toBe(true);
      const got = collect(c, 'fleet/r9/loc');
      await broker.bus.publish('fleet/r9/loc', 'a', { qos: 1 });
      await grant({ op: 'revoke', user: 'cust4', topic: 'fleet/r9/loc' });
      await broker.bus.publish('fleet/r9/loc', 'b', { qos: 1 });
      await sleep(100);
      expect(got()).toEqual(['a']);
    } finally {
      await c.endAsync(true);
    }
  });

  it('honours expiresAt: an expired grant neither subscribes nor delivers', async () => {
    const c = await client('cust5', 'user');
    try {
      await grant({ op: 'grant', user: 'cust5', topic: 'orders/o5', expiresAt: Date.now() + 300 });
      expect(await granted(c, 'orders/o5')).toBe(true);
      const got = collect(c, 'orders/o5');
      await sleep(400);
      await broker.bus.publish('orders/o5', 'late', { qos: 1 });
      await sleep(100);
      expect(got()).toEqual([]);
      await grant({ op: 'grant', user: 'cust5', topic: 'orders/o6', expiresAt: Date.now() - 1 });
      expect(await granted(c, 'orders/o6')).toBe(false);
    } finally {
      await c.endAsync(true);
    }
  });

  it('takes grants from a service token over MQTT, never from a device', async () => {
    const svc = await client('backend', 'service');
    const dev = await client('cust6', 'user');
    try {
      // a device publishing a grant for itself is refused and disconnected; nothing is granted
      const closed = new Promise<void>((r) => dev.once('close', () => r()));
      dev.publish(topics.aclGrants, JSON.stringify({ op: 'grant', user: 'cust6', topic: 'orders/o7' }), { qos: 1 });
      await closed;
      await svc.publishAsync(topics.aclGrants, JSON.stringify({ op: 'grant', user: 'cust7', topic: 'orders/o7' }), { qos: 1 });
      const c7 = await client('cust7', 'user');
      expect(await granted(c7, 'orders/o7')).toBe(true);
      await c7.endAsync(true);
      const c6 = await client('cust6', 'user');
      expect(await granted(c6, 'orders/o7')).toBe(false);
      await c6.endAsync(true);
    } finally {
      await svc.endAsync(true);
      dev.end(true);
    }
  });

  it('ignores malformed grants and keeps running', async () => {
    await broker.bus.publish(topics.aclGrants, 'not json', { qos: 1 });
    await grant({ op: 'grant', user: 'cust8', topic: 'orders/#' });
    await grant({ op: 'grant', user: 'cust8', topic: '$SYS/broker' });
    const c = await client('cust8', 'user');
    expect(await granted(c, 'orders/#')).toBe(false);
    await c.endAsync(true);
    expect((await broker.health()).ok).toBe(true);
  });

  it('keeps grants across a broker restart', async () => {
    await grant({ op: 'grant', user: 'cust9', topic: 'orders/o9' });
    await broker.close();
    broker = await start();
    const c = await client('cust9', 'user');
    try {
      expect(await granted(c, 'orders/o9')).toBe(true);
    } finally {
      await c.endAsync(true);
    }
  });
});

describe('parseGrant', () => {
  it('accepts the two shapes and names what is wrong otherwise', () => {
    expect(parseGrant('{"op":"grant","user":"u1","topic":"orders/o1","expiresAt":5}')).toEqual({ op: 'grant', user: 'u1', topic: 'orders/o1', expiresAt: 5 });
    expect(parseGrant('{"op":"revoke","user":"u1","topic":"orders/o1"}')).toEqual({ op: 'revoke', user: 'u1', topic: 'orders/o1' });
    for (const bad of ['[]', '{"op":"grant","user":"u1","topic":"a/+"}', '{"op":"grant","user":"u/1","topic":"a"}', '{"op":"grant","user":"u1","topic":"a","extra":1}', '{"op":"nope","user":"u1","topic":"a"}', '{"op":"grant","user":"u1","topic":"a","expiresAt":"soon"}']) {
      expect(typeof parseGrant(bad)).toBe('string');
    }
  });
});
