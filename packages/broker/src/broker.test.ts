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
