import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import Database from 'better-sqlite3';
import { TokenIssuer, parseEnvFile, topics } from '@infra/core';
import { infra, initStack, tempDir, upStack, type RunningStack } from './harness.js';

const tmp = tempDir('infra-fulfillment-e2e-');
let dir: string;
let issuer: TokenIssuer;
const address = { name: 'Ada', line1: '1 Main St', city: 'Berlin', postalCode: '10115', country: 'DE' };

beforeAll(() => {
  dir = initStack(tmp.dir, 'commerce');
  issuer = new TokenIssuer(parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'))['INFRA_JWT_SECRET'] ?? '');
});
afterAll(() => tmp.cleanup());

async function call(base: string, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const r = await fetch(`${base}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
  const text = await r.text();
  return { status: r.status, body: text ? JSON.parse(text) : undefined };
}

describe('fulfillment end to end (infra up, infra seed, HTTP, MQTT)', () => {
  it('flows validate and graph the template; a broken flow refuses `infra up` with file:line', () => {
    const v = infra(['flows', 'validate', '--dir', dir]);
    expect(v.code).toBe(0);
    expect(v.stdout).toContain('ok order');
    const g = infra(['flows', 'graph', 'order', '--dir', dir]);
    expect(g.stdout).toContain('pending_payment --> paid: pay');
    expect(infra(['flows', 'graph', 'nope', '--dir', dir]).stderr).toContain('INFRA_ERR_NOT_FOUND');
  });

  it('seed, then a customer orders, staff pay, pick, pack, ship, and every status change arrives over MQTT in order', async () => {
    const s = infra(['seed', '--dir', dir, '--json']);
    expect(s.code).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ warehouses: 1, skus: 3, stockLines: 4 });
    const stack: RunningStack = await upStack(dir);
    try {
      const base = `http://127.0.0.1:${stack.port('server', 'api')}`;
      const admin = stack.state.adminToken;
      const staff = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port('broker', 'mqtt')}`, { protocolVersion: 4, username: 'admin', password: admin, reconnectPeriod: 0 }, false);
      const seen: { topic: string; payload: { type: string; to?: string; orderId?: string } }[] = [];
      staff.on('message', (topic, payload) => seen.push({ topic, payload: JSON.parse(payload.toString()) }));
      await staff.subscribeAsync('orders/+', { qos: 1 });

      const alice = await issuer.sign('alice', 'user', 600);
      const order = await call(base, alice, 'POST', '/orders', { address, lines: [{ sku: 'COFFEE-1KG', qty: 12, unitPrice: 2450 }, { sku: 'MUG', qty: 1, unitPrice: 899 }] });
      expect(order.status).toBe(201);
      expect(order.body.allocations.filter((a: { sku: string }) => a.sku === 'COFFEE-1KG').map((a: { lot: string; qty: number }) => [a.lot, a.qty])).toEqual([['L2026-10', 10], ['L2026-11', 2]]);
      const id = order.body.id as string;
      // the customer follows her own order: the order's creation granted her its topic
      const aliceMqtt = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port('broker', 'mqtt')}`, { protocolVersion: 4, username: 'alice', password: alice, reconnectPeriod: 0 }, false);
      const aliceSeen: string[] = [];
      aliceMqtt.on('message', (_t, payload) => aliceSeen.push((JSON.parse(payload.toString()) as { to?: string; type: string }).to ?? 'created'));
      expect((await aliceMqtt.subscribeAsync(topics.order(id), { qos: 1 }))[0]?.qos).toBe(1);
      for (const event of ['pay', 'allocate', 'start_picking', 'pack']) expect((await call(base, admin, 'POST', `/orders/${id}/events`, { event })).status).toBe(200);
      const shipped = await call(base, admin, 'POST', `/orders/${id}/events`, { event: 'ship', shipping: { carrier: 'DHL', trackingNumber: '00340434' } });
      expect(shipped.body.status).toBe('shipped');
      const deadline = Date.now() + 5000;
      while (seen.filter((m) => m.topic === topics.order(id)).length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(seen.filter((m) => m.topic === topics.order(id)).map((m) => m.payload.to ?? m.payload.type)).toEqual(['order.created', 'paid', 'allocated', 'picking', 'packed', 'shipped']);

      while (aliceSeen.filter((e) => e !== 'created').length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(aliceSeen.filter((e) => e !== 'created')).toEqual(['paid', 'allocated', 'picking', 'packed', 'shipped']);
      await aliceMqtt.endAsync(true);

      // another customer may not subscribe to alice's order
      const bob = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port('broker', 'mqtt')}`, { protocolVersion: 4, username: 'bob', password: await issuer.sign('bob', 'user', 600), reconnectPeriod: 0 }, false);
      // mqtt.js rejects a SUBACK 0x80 (refused)
      const refused = await bob.subscribeAsync(topics.order(id), { qos: 1 }).then((g) => g[0]?.qos, (err: { granted?: { qos: number }[] | number[] }) => (err.granted?.[0] as { qos?: number } | number | undefined) ?? 128);
      expect(typeof refused === 'object' ? (refused as { qos: number }).qos : refused).toBe(128);
      await bob.endAsync(true);
      await staff.endAsync(true);
    } finally {
      await stack.stop();
    }
  });

  it('kill -9 during a load of order creations: every 201 order exists after restart, stock and ledger balance, the outbox drains', async () => {
    expect(infra(['seed', '--dir', dir]).code).toBe(0); // idempotent: this test also runs alone
    let stack: RunningStack = await upStack(dir);
    const base = `http://127.0.0.1:${stack.port('server', 'api')}`;
    const svc = await issuer.sign('shop', 'service', 600);
    expect((await call(base, stack.state.adminToken, 'POST', '/wms/adjustments', { sku: 'TSHIRT-M', location: 'WH1:A/01/01', qty: 5000, reason: 'load test stock' })).status).toBe(200);
    const created: string[] = [];
    let stop = false;
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; !stop && i < 400; i++) {
        try {
          const r = await call(base, svc, 'POST', '/orders', { customer: `k${w}`, address, lines: [{ sku: 'TSHIRT-M', qty: 1, unitPrice: 1999 }] });
          if (r.status === 201) created.push(r.body.id);
        } catch {
          return; // the server died mid-request: that order may or may not exist, it was never acknowledged
        }
      }
    };
    const load = Promise.all(Array.from({ length: 8 }, (_, w) => worker(w)));
    // kill in the middle of the load: once some orders were acknowledged, while more are in flight
    for (let waited = 0; created.length < 20 && waited < 15_000; waited += 20) await new Promise((r) => setTimeout(r, 20));
    stack.child.kill('SIGKILL');
    stop = true;
    await load;
    await new Promise((r) => stack.child.exitCode !== null || stack.child.signalCode !== null ? r(null) : stack.child.once('exit', r));
    expect(created.length).toBeGreaterThan(0);

    stack = await upStack(dir);
    try {
      const base2 = `http://127.0.0.1:${stack.port('server', 'api')}`;
      const admin = stack.state.adminToken;
      for (const id of created) expect((await call(base2, admin, 'GET', `/orders/${id}`)).status).toBe(200);
      const stock = (await call(base2, admin, 'GET', '/wms/stock?sku=TSHIRT-M')).body;
      const trace = (await call(base2, admin, 'GET', '/wms/trace?sku=TSHIRT-M')).body.movements as { qty: number }[];
      expect(stock.onHand).toBe(trace.reduce((s, m) => s + m.qty, 0));
      expect(stock.available).toBe(stock.onHand - stock.reserved);
      const list = (await call(base2, admin, 'GET', '/orders?limit=200&status=pending_payment')).body.items as { id: string }[];
      expect(list.length).toBeGreaterThanOrEqual(Math.min(created.length, 200));
      const deadline = Date.now() + 5000;
      const pending = () => {
        const db = new Database(join(dir, 'data', 'fulfillment.db'), { readonly: true });
        try {
          // rows after the relay's cursor (the last row published with every row before it)
          return (db.prepare('select count(*) as n from outbox where id > (select last_id from outbox_cursor where id = 1)').get() as { n: number }).n;
        } finally {
          db.close();
        }
      };
      while (pending() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(pending()).toBe(0);
    } finally {
      await stack.stop();
    }
  });
});
