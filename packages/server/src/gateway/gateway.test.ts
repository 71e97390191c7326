import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { createLogger, parseConfigText, TokenIssuer, type Health } from '@infra/core';
import { startServer, type RunningServer } from '../index.js';

const secret = 'k'.repeat(43);
const issuer = new TokenIssuer(secret);
const dataDir = mkdtempSync(join(tmpdir(), 'infra-gateway-'));
const health: Record<string, Health> = { server: { ok: true }, broker: { ok: true } };
let server: RunningServer;
let base: string;

beforeAll(async () => {
  const config = parseConfigText('version: 1\nhttp:\n  port: 0\n  bodyLimit: 4096\n', 'infra.yaml', {}, []);
  server = await startServer(
    { config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43) }, logger: createLogger(), dataDir },
    { issuer, version: 'test', healthOf: async () => structuredClone(health) },
  );
  base = server.upgrades.baseUrl;
});

afterAll(async () => {
  await server.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('gateway', () => {
  it('creates fulfillment.db under data.dir and reports healthy', async () => {
    expect(existsSync(join(dataDir, 'fulfillment.db'))).toBe(true);
    expect(await server.health()).toEqual({ ok: true });
  });

  it('/ready is 503 naming the pillar that is not ready, and 200 once it is', async () => {
    health['broker'] = { ok: false, detail: 'starting' };
    const down = await fetch(`${base}/ready`);
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ ready: false, services: { server: { ok: true }, broker: { ok: false, detail: 'starting' } } });
    health['broker'] = { ok: true };
    expect((await fetch(`${base}/ready`)).status).toBe(200);
  });

  it('an unknown route is a problem+json 404 for a caller with a token, 401 without', async () => {
    const token = await issuer.sign('u1', 'user', 60);
    const r = await fetch(`${base}/api/v1/nothing-here`, { headers: { authorization: `Bearer ${token}` } });
    expect(r.status).toBe(404);
    expect(r.headers.get('content-type')).toContain('application/problem+json');
    expect(((await r.json()) as { type: string }).type).toBe('INFRA_ERR_NOT_FOUND');
    expect((await fetch(`${base}/api/v1/nothing-here`)).status).toBe(401);
  });

  it('honours http.bodyLimit with 413', async () => {
    const token = await issuer.sign('admin', 'admin', 60);
    const r = await fetch(`${base}/api/v1/auth/tokens`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ user: 'u', role: 'user', ttl: '1'.repeat(5000) + 'm' }) });
    expect(r.status).toBe(413);
  });

  it('answers a WebSocket upgrade on a path nobody mounted with 404, and routes a mounted one', async () => {
    const upgrade = (path: string): Promise<string> =>
      new Promise((resolve, reject) => {
        const url = new URL(path, base);
        const req = request({ host: url.hostname, port: url.port, path, headers: { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' } });
        req.on('response', (res) => resolve(`response ${res.statusCode}`));
        req.on('upgrade', (res, socket) => {
          socket.destroy();
          resolve(`upgrade ${res.statusCode}`);
        });
        req.on('error', reject);
        req.end();
      });
    expect(await upgrade('/nope')).toBe('response 404');
    const unmount = server.upgrades.mount('/echo', (_req, socket) => {
      socket.end('HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n');
    });
    expect(await upgrade('/echo')).toBe('upgrade 101');
    unmount();
    expect(await upgrade('/echo')).toBe('response 404');
  });
});
