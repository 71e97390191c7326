import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createLogger, parseConfigText, TokenIssuer, type BusMessage } from '@infra/core';
import { startBroker, type RunningBroker } from './broker.js';

const secret = 'b'.repeat(43);
const issuer = new TokenIssuer(secret);
const dataDir = mkdtempSync(join(tmpdir(), 'infra-broker-'));
let broker: RunningBroker;
let url: string;

beforeAll(async () => {
  const config = parseConfigText('version: 1\nmqtt:\n  port: 0\n  maxPacketBytes: 4096\n', 'infra.yaml', {}, []);
  broker = await startBroker({ config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43) }, logger: createLogger(), dataDir }, { issuer });
  url = broker.endpoints[0]?.url as string;
});

afterAll(async () => {
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function client(user: string, role: 'user' | 'rider' | 'service'): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, username: user, password: await issuer.sign(user, role, 600), reconnectPeriod: 0 }, false);
}

describe('broker bus', () => {
  it('delivers a bus publish to an authorised subscriber', async () => {
    const u = await client('u1', 'user');
    try {
      await u.subscribeAsync('im/u/u1', { qos: 1 });
      const got = new Promise<string>((r) => u.once('message', (_t, p) => r(p.toString())));
      await broker.bus.publish('im/u/u1', JSON.stringify({ hello: 1 }), { qos: 1 });
      expect(JSON.parse(await got)).toEqual({ hello: 1 });
    } finally {
      await u.endAsync(true);
    }
  });

  it('delivers every publish to a subscriber of several topics, whatever order they reach aedes’ message bus in', async () => {
    // aedes stamps each packet with a counter when it is created and used to drop, for each client, any packet below
    // the highest counter that client had: an older packet that reached the bus later was lost without a word.
    // Two ways that happened here: a QoS 0 publish overtakes a QoS 1 one of the same tick (which first looks up
    // offline sessions); a QoS 1 publish on a topic with a persistent subscriber waits for LevelDB, one on another
    // topic does not.
    const svc = await client('svc-order', 'service');
    const keeper = await mqtt.connectAsync(url, { protocolVersion: 4, username: 'svc-keeper', password: await issuer.sign('svc-keeper', 'service', 600), reconnectPeriod: 0, clean: false, clientId: 'svc-keeper' }, false);
    try {
      await svc.subscribeAsync(['live/+/state', 'orders/#', 'wms/#'], { qos: 1 });
      await keeper.subscribeAsync('orders/#', { qos: 1 }); // a persistent session: every orders/ publish is queued in LevelDB first
      const got: string[] = [];
      svc.on('message', (_t, p) => got.push(p.toString()));
      const count = (kind: string): number => got.filter((x) => x.startsWith(`${kind}-`)).length;
      const settle = async (n: number) => {
        for (let i = 0; i < 100 && got.length < n; i++) await new Promise((r) => setTimeout(r, 20));
      };
      for (let i = 0; i < 50; i++) {
        void broker.bus.publish(`live/s${i}/state`, `state-${i}`, { qos: 1 });
        void broker.bus.publish(`live/s${i}/state`, `viewers-${i}`, { qos: 0 });
      }
      await settle(100);
      expect({ state: count('state'), viewers: count('viewers') }).toEqual({ state: 50, viewers: 50 }); // was 0 and 50
      for (let i = 0; i < 50; i++) {
        void broker.bus.publish(`orders/o${i}`, `order-${i}`, { qos: 1 });
        void broker.bus.publish(`wms/stock/k${i}`, `stock-${i}`, { qos: 1 });
      }
      await settle(200);
      expect({ order: count('order'), stock: count('stock') }).toEqual({ order: 50, stock: 50 }); // was 0 and 50
      // overlapping subscriptions still deliver a packet once
      await svc.subscribeAsync('orders/+', { qos: 1 });
      await broker.bus.publish('orders/once', 'once', { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
      expect(got.filter((x) => x === 'once')).toHaveLength(1);
    } finally {
      await svc.endAsync(true);
      await keeper.endAsync(true);
    }
  });

  it('hands a device publish to a bus subscriber, and unsubscribing stops it', async () => {
    const seen: BusMessage[] = [];
    const off = await broker.bus.subscribe('fleet/+/loc', (m) => seen.push(m));
    const rider = await client('r1', 'rider');
    try {
      const fix = JSON.stringify({ lat: 1, lng: 2, ts: Date.now() });
      await rider.publishAsync('fleet/r1/loc', fix, { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.map((m) => [m.topic, m.payload.toString()])).toEqual([['fleet/r1/loc', fix]]);
      await off();
      await rider.publishAsync('fleet/r1/loc', JSON.stringify({ lat: 1, lng: 2, ts: Date.now() + 1 }), { qos: 1 });
      await new Promise((r) => setTimeout(r, 100));
      expect(seen).toHaveLength(1);
    } finally {
      await rider.endAsync(true);
    }
  });

  it('refuses a rider publishing another rider’s location (disconnects it)', async () => {
    const seen: BusMessage[] = [];
    const off = await broker.bus.subscribe('fleet/#', (m) => seen.push(m));
    const rider = await client('r2', 'rider');
    const closed = new Promise<void>((r) => rider.once('close', () => r()));
    rider.publish('fleet/r1/loc', 'spoof', { qos: 1 });
    await closed;
    expect(seen).toEqual([]);
    await off();
    rider.end(true);
  });

  it('enforces mqtt.maxPacketBytes on TCP: an oversize publish closes the connection and reaches nobody', async () => {
    const seen: BusMessage[] = [];
    // a backend topic: fleet/{id}/loc has its own, smaller limit on fixes (telemetry/)
    const off = await broker.bus.subscribe('bulk/#', (m) => seen.push(m));
    const rider = await client('svc3', 'service');
    try {
      await rider.publishAsync('bulk/r3', Buffer.alloc(3000, 1), { qos: 1 }); // under the limit
      const closed = new Promise<void>((r) => rider.once('close', () => r()));
      rider.publish('bulk/r3', Buffer.alloc(5000, 2), { qos: 1 });
      await closed;
      await new Promise((r) => setTimeout(r, 100));
      expect(seen.map((m) => m.payload.length)).toEqual([3000]);
    } finally {
      await off();
      rider.end(true);
    }
  });
});
