/**
 * Test fixture: the real broker and the real gateway (which registers the broker's /api/v1/im routes),
 * as the composition root wires them, on free ports with a temp data dir. Test-only: src never imports server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createLogger, parseConfigText, TokenIssuer, type Role, type ServiceContext } from '@infra/core';
import type { ImMessage } from '@infra/core/topics';
import { startServer, type RoutePlugin, type RunningServer } from '@infra/server';
import { startBroker, type RunningBroker } from '../src/index.js';

export const secret = 'b'.repeat(43);
export const issuer = new TokenIssuer(secret);

export interface TestStack {
  dataDir: string;
  broker: RunningBroker;
  server?: RunningServer;
  mqttUrl: string;
  apiUrl: string;
  token(user: string, role?: Role): Promise<string>;
  mqtt(user: string, opts?: mqtt.IClientOptions & { role?: Role }): Promise<mqtt.MqttClient>;
  http<T = unknown>(method: string, path: string, user: string, body?: unknown, role?: Role): Promise<{ status: number; body: T }>;
  /** close the services; the data dir stays unless `remove` */
  close(remove?: boolean): Promise<void>;
}

/** the data key tests seal IM bodies with, as `infra init` writes one */
export const testDataKeys = `k1:${'d'.repeat(43)}`;

export async function startTestStack(opts: { dataDir?: string; yaml?: string; http?: boolean; dataKeys?: string } = {}): Promise<TestStack> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'infra-im-'));
  const config = parseConfigText(`version: 1\nhttp:\n  port: 0\nmqtt:\n  port: 0\n${opts.yaml ?? ''}`, 'infra.yaml', {}, []);
  const ctx: ServiceContext = { config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43), dataKeys: opts.dataKeys ?? testDataKeys }, logger: createLogger({ level: 'warn' }), dataDir };
  const broker = await startBroker(ctx, { issuer });
  let server: RunningServer | undefined;
  if (opts.http !== false) {
    server = await startServer({ ...ctx, bus: broker.bus }, { issuer, version: 'test', healthOf: async () => ({}), plugins: (broker.routes ?? []) as RoutePlugin[] });
    broker.mountWebSocket?.(server.upgrades);
  }
  const mqttUrl = broker.endpoints[0]?.url as string;
  const apiUrl = server?.endpoints.find((e) => e.name === 'api')?.url ?? '';
  const token = (user: string, role: Role = 'user'): Promise<string> => issuer.sign(user, role, 600);
  return {
    dataDir,
    broker,
    ...(server ? { server } : {}),
    mqttUrl,
    apiUrl,
    token,
    async mqtt(user, o = {}) {
      const { role, ...rest } = o;
      return mqtt.connectAsync(mqttUrl, { protocolVersion: 4, username: user, password: await token(user, role ?? 'user'), reconnectPeriod: 0, ...rest }, false);
    },
    async http(method, path, user, body, role) {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${await token(user, role ?? 'user')}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : undefined) as never };
    },
    async close(remove = true) {
      await server?.close();
      await broker.close();
      if (remove) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Collects JSON events a client receives, and waits for one that matches. */
export function inbox(client: mqtt.MqttClient) {
  const seen: { topic: string; data: Record<string, unknown> }[] = [];
  const waiters: { pred: (e: { topic: string; data: Record<string, unknown> }) => boolean; resolve: (e: { topic: string; data: Record<string, unknown> }) => void }[] = [];
  client.on('message', (topic, payload) => {
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(payload.toString()) as Record<string, unknown>;
    } catch {
      data = { raw: payload.toString() };
    }
    const e = { topic, data };
    seen.push(e);
    for (const w of [...waiters]) if (w.pred(e)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(e);
    }
  });
  return {
    seen,
    next(pred: (e: { topic: string; data: Record<string, unknown> }) => boolean, timeoutMs = 5000): Promise<{ topic: string; data: Record<string, unknown> }> {
      const found = seen.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error('timed out waiting for an event')), timeoutMs);
        waiters.push({ pred, resolve: (e) => { clearTimeout(t); resolve(e); } });
      });
    },
  };
}

export type Inbox = ReturnType<typeof inbox>;

/** The messages a device received live, in order: `message` events, and its own sends in the acks that carry them. */
export function liveMessages(box: Inbox, convId?: string): ImMessage[] {
  const out: ImMessage[] = [];
  for (const { data } of box.seen) {
    const m = (data['kind'] === 'message' || data['kind'] === 'ack' ? data['message'] : undefined) as ImMessage | undefined;
    if (m && (convId === undefined || m.convId === convId)) out.push(m);
  }
  return out;
}

/** A user's device: connected, subscribed to its own IM inbox `im/u/{user}`, collecting what arrives there. */
export async function imDevice(stack: TestStack, user: string, role: Role = 'user'): Promise<{ c: mqtt.MqttClient; box: Inbox }> {
  const c = await stack.mqtt(user, { role });
  const box = inbox(c);
  await c.subscribeAsync(`im/u/${user}`, { qos: 1 });
  return { c, box };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `pred` every 20 ms; throws when it is still false after `ms`. */
export async function until(pred: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await sleep(20);
  }
}
