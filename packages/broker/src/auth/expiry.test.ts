import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createLogger, parseConfigText, TokenIssuer } from '@infra/core';
import { startBroker, type RunningBroker } from '../broker.js';

const secret = 'x'.repeat(43);
const issuer = new TokenIssuer(secret);
const dataDir = mkdtempSync(join(tmpdir(), 'infra-expiry-'));
let broker: RunningBroker;

beforeAll(async () => {
  const config = parseConfigText('version: 1\nmqtt:\n  port: 0\n', 'infra.yaml', {}, []);
  broker = await startBroker({ config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43) }, logger: createLogger({ level: 'silent' }), dataDir }, { issuer });
});
afterAll(async () => {
  await broker.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('token expiry on a live connection', () => {
  it('closes the connection when its token expires; a fresh token reconnects and finds its queued messages', async () => {
    const url = broker.endpoints[0]?.url as string;
    const opts = { protocolVersion: 4 as const, username: 'eve', clientId: 'eve-phone', clean: false, reconnectPeriod: 0 };
    const c = await mqtt.connectAsync(url, { ...opts, password: await issuer.sign('eve', 'user', 2) }, false);
    await c.subscribeAsync('im/u/eve', { qos: 1 });
    const t0 = Date.now();
    await new Promise<void>((resolve) => c.once('close', () => resolve()));
    const lived = Date.now() - t0;
    expect(lived).toBeGreaterThan(500);
    expect(lived).toBeLessThan(3500);
    // while it is away, a message is queued in its persistent session
    await broker.bus.publish('im/u/eve', 'while away', { qos: 1 });
    c.end(true);
    const again = await mqtt.connectAsync(url, { ...opts, password: await issuer.sign('eve', 'user', 600) }, false);
    const got = await new Promise<string>((resolve) => again.once('message', (_t, p) => resolve(p.toString())));
    expect(got).toBe('while away');
    await again.endAsync(true);
  });

  it('keeps a connection whose token is still valid', async () => {
    const url = broker.endpoints[0]?.url as string;
    const c = await mqtt.connectAsync(url, { protocolVersion: 4, username: 'fay', password: await issuer.sign('fay', 'user', 600), reconnectPeriod: 0 }, false);
    await new Promise((r) => setTimeout(r, 2500));
    expect(c.connected).toBe(true);
    await c.endAsync(true);
  });
});
