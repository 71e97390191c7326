/**
 * Test fixture for dispatch and delivery: the real broker (MQTT on a free port, its in-process bus handed to
 * the server, as the composition root does) and the real gateway over a real SQLite file in a temp dir.
 * Test-only: packages/server/src never imports the broker.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { createLogger, parseConfigText, TokenIssuer, topics, type Role, type ServiceContext } from '@infra/core';
import { startBroker } from '@infra/broker';
import { startServer, type RoutePlugin, type RunningServer } from '../src/index.js';

const secret = 'd'.repeat(43);
export const issuer = new TokenIssuer(secret);

export interface FleetStack {
  dir: string;
  server: RunningServer;
  mqttUrl: string;
  token(user: string, role: Role): Promise<string>;
  mqtt(user: string, role: Role): Promise<mqtt.MqttClient>;
  call(method: string, path: string, token: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** publishes a GPS fix as the rider on fleet/{riderId}/loc, and waits until the server's last known position is it */
  fix(client: mqtt.MqttClient, riderId: string, at: { lat: number; lng: number }): Promise<void>;
  /** closes the gateway and starts it again on the same data (the broker keeps running) */
  restartServer(): Promise<void>;
  close(): Promise<void>;
}

export async function startFleetStack(opts: { yaml?: string; flows?: Record<string, string> } = {}): Promise<FleetStack> {
  const dir = mkdtempSync(join(tmpdir(), 'infra-fleet-'));
  if (opts.flows) {
    mkdirSync(join(dir, 'flows'), { recursive: true });
    for (const [name, text] of Object.entries(opts.flows)) writeFileSync(join(dir, 'flows', name), text);
  }
  const config = parseConfigText(`version: 1\nhttp:\n  port: 0\nmqtt:\n  port: 0\nfulfillment:\n  rateLimit: 0\n${opts.yaml ?? ''}`, join(dir, 'infra.yaml'), {}, []);
  const ctx: ServiceContext = { config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43) }, logger: createLogger({ level: 'warn' }), dataDir: join(dir, 'data') };
  const broker = await startBroker(ctx, { issuer });
  const start = () => startServer({ ...ctx, bus: broker.bus }, { issuer, version: 'test', healthOf: async () => ({}), plugins: (broker.routes ?? []) as RoutePlugin[], stackDir: dir });
  let server = await start();
  broker.mountWebSocket?.(server.upgrades);
  const mqttUrl = broker.endpoints.find((e) => e.name === 'mqtt')?.url ?? (broker.endpoints[0]?.url as string);
  let apiUrl = server.endpoints.find((e) => e.name === 'api')!.url;
  const token = (user: string, role: Role): Promise<string> => issuer.sign(user, role, 600);
  const clients: mqtt.MqttClient[] = [];
  const stack: FleetStack = {
    dir,
    server,
    mqttUrl,
    token,
    async mqtt(user, role) {
      const c = await mqtt.connectAsync(mqttUrl, { protocolVersion: 4, username: user, password: await token(user, role), reconnectPeriod: 0 }, false);
      clients.push(c);
      return c;
    },
    async call(method, path, tok, body) {
      const res = await fetch(`${apiUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${tok}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
    async fix(client, riderId, at) {
      await client.publishAsync(topics.fleetLocation(riderId), JSON.stringify({ ...at, ts: Date.now() }), { qos: 1 });
      const admin = await token('fleet-stack', 'admin');
      await until(async () => {
        const loc = await stack.call('GET', `/riders/${riderId}/location`, admin);
        return loc.status === 200 && Math.abs(loc.body.lat - at.lat) < 1e-9;
      }, 5000, `the fix of ${riderId}`);
    },
    async restartServer() {
      await server.close();
      server = await start();
      stack.server = server;
      apiUrl = server.endpoints.find((e) => e.name === 'api')!.url;
    },
    async close() {
      await Promise.all(clients.map((c) => c.endAsync(true).catch(() => undefined)));
      await server.close();
      await broker.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** Collects JSON messages a client receives and waits for one that matches. */
export function inbox(client: mqtt.MqttClient) {
  type Msg = { topic: string; data: any };
  const seen: Msg[] = [];
  const waiters: { pred: (m: Msg) => boolean; resolve: (m: Msg) => void }[] = [];
  client.on('message', (topic, payload) => {
    let data: unknown;
    try {
      data = JSON.parse(payload.toString());
    } catch {
      data = { raw: payload.toString() };
    }
    const m = { topic, data };
    seen.push(m);
    for (const w of [...waiters]) if (w.pred(m)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(m);
    }
  });
  return {
    seen,
    next(pred: (m: Msg) => boolean, timeoutMs = 5000): Promise<Msg> {
      const found = seen.find(pred);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`timed out waiting for a message (seen: ${JSON.stringify(seen.map((s) => [s.topic, s.data?.type]))})`)), timeoutMs);
        waiters.push({ pred, resolve: (m) => { clearTimeout(t); resolve(m); } });
      });
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `f` returns a truthy value (bounded). */
export async function until<T>(f: () => Promise<T | undefined | false>, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

/** Metres north/east of a point, as lat/lng (good enough at city scale). */
export function offset(p: { lat: number; lng: number }, northM: number, eastM: number): { lat: number; lng: number } {
  return { lat: p.lat + northM / 111_320, lng: p.lng + eastM / (111_320 * Math.cos((p.lat * Math.PI) / 180)) };
}
