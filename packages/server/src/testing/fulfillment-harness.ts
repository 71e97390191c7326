import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, parseConfigText, TokenIssuer, type EventBus, type Role } from '@infra/core';
import { startServer, type RunningServer } from '../index.js';

/** For tests: a real gateway on port 0 over a real SQLite file in a temp stack dir. */
export interface FulfillmentHarness {
  server: RunningServer;
  base: string;
  dir: string;
  token(user: string, role: Role): Promise<string>;
  call(method: string, path: string, opts?: { token?: string; body?: unknown; headers?: Record<string, string> }): Promise<{ status: number; body: any; headers: Headers }>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

const secret = 'f'.repeat(43);

export async function startFulfillment(opts: { flows?: Record<string, string>; bus?: EventBus; flowTimerMs?: number; yaml?: string; dir?: string } = {}): Promise<FulfillmentHarness> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'infra-fulfillment-'));
  if (opts.flows) {
    mkdirSync(join(dir, 'flows'), { recursive: true });
    for (const [name, text] of Object.entries(opts.flows)) writeFileSync(join(dir, 'flows', name), text);
  }
  const issuer = new TokenIssuer(secret);
  const config = parseConfigText(opts.yaml ?? 'version: 1\nhttp:\n  port: 0\nfulfillment:\n  rateLimit: 100000\n', join(dir, 'infra.yaml'), {}, []);
  const start = () => startServer(
    { config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43) }, logger: createLogger({ level: 'warn' }), dataDir: join(dir, 'data'), ...(opts.bus ? { bus: opts.bus } : {}) },
    { issuer, version: 'test', healthOf: async () => ({ server: { ok: true } }), stackDir: dir, ...(opts.flowTimerMs ? { flowTimerMs: opts.flowTimerMs } : {}) },
  );
  const h: FulfillmentHarness = {
    server: await start(),
    base: '',
    dir,
    token: (user, role) => issuer.sign(user, role, 3600),
    async call(method, path, o = {}) {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token) headers['authorization'] = `Bearer ${o.token}`;
      let body: string | undefined;
      if (o.body !== undefined) {
        headers['content-type'] = 'application/json';
        body = typeof o.body === 'string' ? o.body : JSON.stringify(o.body);
      }
      const r = await fetch(`${h.base}/api/v1${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
      const text = await r.text();
      return { status: r.status, body: text ? JSON.parse(text) : undefined, headers: r.headers };
    },
    async restart() {
      await h.server.close();
      h.server = await start();
      h.base = h.server.upgrades.baseUrl;
    },
    async close() {
      await h.server.close();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  h.base = h.server.upgrades.baseUrl;
  return h;
}

/** Seeds one warehouse WH1 with bins A/01/01 and A/01/02 and the given SKUs (stock put away through a receipt). */
export async function seedBasics(h: FulfillmentHarness, admin: string, skus: { sku: string; qty: number; lotTracked?: boolean; lots?: { lot: string; qty: number; expiresAt: string }[] }[]): Promise<void> {
  const ok = (r: { status: number; body: unknown }, what: string) => { if (r.status >= 300) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`); };
  ok(await h.call('POST', '/wms/warehouses', { token: admin, body: { code: 'WH1', name: 'Main' } }), 'warehouse');
  ok(await h.call('POST', '/wms/locations', { token: admin, body: { warehouse: 'WH1', zone: 'A', aisle: '01', bin: '01' } }), 'bin 1');
  ok(await h.call('POST', '/wms/locations', { token: admin, body: { warehouse: 'WH1', zone: 'A', aisle: '01', bin: '02' } }), 'bin 2');
  for (const s of skus) {
    ok(await h.call('POST', '/wms/skus', { token: admin, body: { sku: s.sku, name: s.sku, lotTracked: !!s.lotTracked } }), `sku ${s.sku}`);
    const lines = s.lots ? s.lots.map((l) => ({ sku: s.sku, qty: l.qty, lot: l.lot, expiresAt: l.expiresAt })) : s.qty > 0 ? [{ sku: s.sku, qty: s.qty }] : [];
    if (!lines.length) continue;
    const rcp = await h.call('POST', '/wms/receipts', { token: admin, body: { warehouse: 'WH1', lines } });
    ok(rcp, `receipt ${s.sku}`);
    ok(await h.call('POST', `/wms/receipts/${rcp.body.id}/putaway`, { token: admin, body: { lines: lines.map((_, i) => ({ line: i, location: 'WH1:A/01/01' })) } }), `putaway ${s.sku}`);
  }
}

export const address = { name: 'Ada Lovelace', line1: '1 Analytical St', city: 'London', postalCode: 'N1 1AA', country: 'GB' };
