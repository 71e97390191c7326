import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { get, request } from 'node:http';
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { TokenIssuer, parseEnvFile } from '@infra/core';
import { locateFfmpeg } from '@infra/media';
import { infra, initStack, runFiles, tempDir, upStack, type RunningStack } from './harness.js';

const tmp = tempDir();
let dir: string;
let stack: RunningStack;
let secrets: Record<string, string>;
let base: string;

beforeAll(async () => {
  dir = initStack(tmp.dir, 'commerce');
  secrets = parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'));
  stack = await upStack(dir);
  base = `http://127.0.0.1:${stack.port('server', 'api')}`;
});

afterAll(async () => {
  if (stack && stack.child.exitCode === null) await stack.stop();
  tmp.cleanup();
});

function mqttConnect(url: string, username?: string, password?: string): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...(username ? { username } : {}), ...(password ? { password } : {}) }, false);
}

async function connackCode(url: string, username?: string, password?: string): Promise<number> {
  try {
    const c = await mqttConnect(url, username, password);
    await c.endAsync(true);
    return 0;
  } catch (err) {
    return (err as { code?: number }).code ?? -1;
  }
}

describe('infra up', () => {
  it('prints one ready block with every service and the real ports picked for port 0', () => {
    const out = stack.stdout();
    expect(out.match(/is ready/g)).toHaveLength(1);
    for (const [service, name] of [['server', 'api'], ['broker', 'mqtt'], ['media', 'rtmp'], ['media', 'flv']] as const) {
      const port = stack.port(service, name);
      expect(port).toBeGreaterThan(0);
      expect(out).toContain(`:${port}`);
    }
    expect(out).toContain(stack.state.adminToken);
    expect(out).toContain(`ws://127.0.0.1:${stack.port('server', 'api')}/mqtt`);
  });

  it('answers /health, /ready, /docs/json publicly and /metrics only with a token', async () => {
    const health = await fetch(`${base}/health`);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: 'ok' });

    const ready = await fetch(`${base}/ready`);
    expect(ready.status).toBe(200);
    const readyBody = (await ready.json()) as { ready: boolean; services: Record<string, { ok: boolean }> };
    expect(readyBody.ready).toBe(true);
    expect(Object.keys(readyBody.services).sort()).toEqual(['broker', 'media', 'server']);

    const docs = await fetch(`${base}/docs/json`);
    expect(docs.status).toBe(200);
    const openapi = (await docs.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(openapi.openapi).toMatch(/^3\./);
    expect(Object.keys(openapi.paths)).toContain('/api/v1/auth/tokens');

    const anonymous = await fetch(`${base}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('content-type')).toContain('application/problem+json');
    expect(((await anonymous.json()) as { type: string }).type).toBe('INFRA_ERR_UNAUTHORIZED');

    const metrics = await fetch(`${base}/metrics`, { headers: { authorization: `Bearer ${stack.state.adminToken}` } });
    expect(metrics.status).toBe(200);
    const text = await metrics.text();
    expect(text).toContain('infra_service_up{service="broker"} 1');
    expect(text).toContain('infra_service_up{service="media"} 1');
    expect(text).toContain('infra_process_resident_memory_bytes');
  });

  it('`infra status --json` reports the running stack with the real ports', () => {
    const r = infra(['status', '--json', '--dir', dir]);
    expect(r.code).toBe(0);
    const status = JSON.parse(r.stdout) as { running: boolean; processes: { pid: number }[]; services: Record<string, { ok: boolean; pid: number; endpoints: { name: string; port: number }[] }> };
    expect(status.running).toBe(true);
    expect(status.processes.map((p) => p.pid)).toEqual([stack.child.pid]);
    expect(status.services['server']?.pid).toBe(stack.child.pid);
    expect(Object.values(status.services).every((s) => s.ok)).toBe(true);
    expect(status.services['broker']?.endpoints.find((e) => e.name === 'mqtt')?.port).toBe(stack.port('broker', 'mqtt'));
    expect(status.services['media']?.endpoints.find((e) => e.name === 'rtmp')?.port).toBe(stack.port('media', 'rtmp'));
  });

  it('a token from `infra token` works on HTTP and MQTT (TCP and WebSocket); none, forged or expired is refused', async () => {
    const t = infra(['token', '--user', 'u1', '--role', 'user', '--dir', dir]);
    expect(t.code).toBe(0);
    const token = t.stdout.trim();
    expect(token.split('.')).toHaveLength(3); // only the JWT on stdout

    const who = await fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    expect(who.status).toBe(200);
    expect(await who.json()).toMatchObject({ user: 'u1', role: 'user' });

    const forged = await new TokenIssuer('x'.repeat(43)).sign('u1', 'admin', 3600);
    const expired = await new TokenIssuer(secrets['INFRA_JWT_SECRET'] as string).sign('u1', 'user', 60, Date.now() - 3_600_000);
    for (const bad of [forged, expired, 'not-a-jwt']) {
      const r = await fetch(`${base}/api/v1/auth/whoami`, { headers: { authorization: `Bearer ${bad}` } });
      expect(r.status).toBe(401);
      expect(((await r.json()) as { type: string }).type).toBe('INFRA_ERR_TOKEN_INVALID');
    }

    const tcp = `mqtt://127.0.0.1:${stack.port('broker', 'mqtt')}`;
    const ws = `ws://127.0.0.1:${stack.port('server', 'api')}/mqtt`;
    for (const url of [tcp, ws]) {
      expect(await connackCode(url, 'u1', token)).toBe(0);
      expect(await connackCode(url)).toBe(5); // anonymous: not authorised
      expect(await connackCode(url, 'u1', forged)).toBe(4);
      expect(await connackCode(url, 'u1', expired)).toBe(4);
      expect(await connackCode(url, 'someone-else', token)).toBe(4); // token subject must be the username
    }
  });

  it('authorises MQTT topics: a user gets SUBACK 0x80 for another user’s inbox, and its refused publish reaches nobody', async () => {
    const issuer = new TokenIssuer(secrets['INFRA_JWT_SECRET'] as string);
    const url = `mqtt://127.0.0.1:${stack.port('broker', 'mqtt')}`;
    const alice = await mqttConnect(url, 'alice', await issuer.sign('alice', 'user', 600));
    const svc = await mqttConnect(url, 'backend', await issuer.sign('backend', 'service', 600));
    try {
      // mqtt.js rejects a SUBACK that refuses any filter; the packet carries the per-filter codes
      const suback = await alice.subscribeAsync(['im/u/alice', 'im/u/bob', '#']).then(
        () => undefined,
        (err: { packet?: { granted: number[] } }) => err.packet,
      );
      expect(suback?.granted).toEqual([0, 128, 128]);
      expect(alice.connected).toBe(true);

      const seen: string[] = [];
      svc.on('message', (topic) => seen.push(topic));
      await svc.subscribeAsync('orders/#', { qos: 1 });
      // MQTT 3.1.1 has no negative PUBACK: a refused publish is dropped and the publisher disconnected
      const closed = new Promise<void>((r) => alice.once('close', () => r()));
      alice.publish('orders/o1', 'spoof');
      await closed;
      await svc.publishAsync('orders/o2', 'real', { qos: 1 });
      await new Promise((r) => setTimeout(r, 300));
      expect(seen).toEqual(['orders/o2']);
    } finally {
      await alice.endAsync(true);
      await svc.endAsync(true);
    }
  });

  it('creates a stream with `infra stream create --json`; its key is accepted over RTMP and served as HTTP-FLV and HLS by stream id; a wrong key is refused', async () => {
    const created = infra(['stream', 'create', 'cam', '--json', '--dir', dir]);
    expect(created.code, created.stderr).toBe(0);
    const s = JSON.parse(created.stdout) as { id: string; key: string; rtmpUrl: string; hlsUrl: string; flvUrl: string };
    expect(Object.keys(s).sort()).toEqual(['flvUrl', 'hlsUrl', 'id', 'key', 'rtmpUrl']);
    const rtmp = `rtmp://127.0.0.1:${stack.port('media', 'rtmp')}/live`;
    expect(s.rtmpUrl).toBe(rtmp);
    expect(s.hlsUrl).toBe(`${base}/live/${s.id}/master.m3u8`);
    expect(s.flvUrl).toBe(`http://127.0.0.1:${stack.port('media', 'flv')}/live/${s.id}.flv`);
    const secret = s.key.split('?key=')[1] as string;
    expect(s.hlsUrl + s.flvUrl).not.toContain(secret);

    // the media API is authorised by the gateway: no token 401, a user token 403
    const anonymous = await fetch(`${base}/api/v1/media/streams`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x"}' });
    expect(((await anonymous.json()) as { type: string }).type).toBe('INFRA_ERR_UNAUTHORIZED');
    const userToken = infra(['token', '--user', 'u3', '--role', 'user', '--dir', dir]).stdout.trim();
    const asUser = await fetch(`${base}/api/v1/media/streams`, { method: 'POST', headers: { authorization: `Bearer ${userToken}`, 'content-type': 'application/json' }, body: '{"name":"x"}' });
    expect(((await asUser.json()) as { type: string }).type).toBe('INFRA_ERR_FORBIDDEN');

    const ffmpeg = await locateFfmpeg('');
    const push = spawn(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100', '-t', '20', '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-g', '15', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'flv', `${s.rtmpUrl}/${s.key}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    try {
      const { header, keyframe } = await readFlv(s.flvUrl, 15_000);
      expect(header).toBe('FLV');
      expect(keyframe).toBe(true);

      const ready = (await (await fetch(`${base}/ready`)).json()) as { services: { media: { live: number } } };
      expect(ready.services.media.live).toBe(1);

      // HLS through the gateway, public, by stream id
      const deadline = Date.now() + 20_000;
      let master = '';
      while (Date.now() < deadline && !master.includes('#EXT-X-STREAM-INF')) {
        const res = await fetch(s.hlsUrl);
        master = res.status === 200 ? await res.text() : '';
        if (!master) await new Promise((r) => setTimeout(r, 200));
      }
      expect(master).toContain('#EXT-X-STREAM-INF');

      // wrong key: ffmpeg is disconnected and exits non-zero, nothing is published
      const bad = spawn(ffmpeg.path, ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-t', '10', '-c:v', 'libx264', '-preset', 'ultrafast', '-f', 'flv', `${rtmp}/${s.id}?key=wrong`], { stdio: 'ignore' });
      const code = await new Promise<number | null>((resolve) => bad.once('exit', resolve));
      expect(code).not.toBe(0);
      const after = (await (await fetch(`${base}/ready`)).json()) as { services: { media: { live: number } } };
      expect(after.services.media.live).toBe(1);

      // an operator cuts it: the pusher is disconnected and nothing is live any more
      const cut = await fetch(`${base}/api/v1/media/streams/${s.id}/cut`, { method: 'POST', headers: { authorization: `Bearer ${stack.state.adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ reason: 'test' }) });
      expect(cut.status).toBe(200);
      expect(await new Promise<number | null>((resolve) => (push.exitCode !== null ? resolve(push.exitCode) : push.once('exit', resolve)))).not.toBe(0);
      const cutReady = (await (await fetch(`${base}/ready`)).json()) as { services: { media: { live: number } } };
      expect(cutReady.services.media.live).toBe(0);
    } finally {
      push.kill('SIGKILL');
    }
  });

  it('answers bad HTTP input with problem+json and keeps serving', async () => {
    const auth = { authorization: `Bearer ${stack.state.adminToken}`, 'content-type': 'application/json' };
    const malformed = await fetch(`${base}/api/v1/auth/tokens`, { method: 'POST', headers: auth, body: '{"user": "u1",' });
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { type: string }).type).toBe('INFRA_ERR_MALFORMED_JSON');

    const unknown = await fetch(`${base}/api/v1/auth/tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ user: 'u1', role: 'boss', colour: 'red' }) });
    expect(unknown.status).toBe(400);
    const problem = (await unknown.json()) as { type: string; errors: { path: string }[] };
    expect(problem.type).toBe('INFRA_ERR_VALIDATION');
    const paths = problem.errors.map((e) => e.path);
    expect(paths).toContain('body.colour');
    expect(paths.filter((p) => p === 'body.role')).toHaveLength(1); // one entry per field, not one per union branch
    expect(problem.errors.find((e) => e.path === 'body.role')).toEqual({ path: 'body.role', message: 'must be one of "admin", "service", "user", "rider", "merchant"' });

    const huge = await postOversize(`${base}/api/v1/auth/tokens`, auth, JSON.stringify({ user: 'u1', role: 'user', ttl: 'x'.repeat(2_000_000) }));
    expect(huge.status).toBe(413);
    expect((JSON.parse(huge.body) as { type: string }).type).toBe('INFRA_ERR_BODY_TOO_LARGE');

    const forbidden = infra(['token', '--user', 'u2', '--role', 'user', '--dir', dir]).stdout.trim();
    const asUser = await fetch(`${base}/api/v1/auth/tokens`, { method: 'POST', headers: { authorization: `Bearer ${forbidden}`, 'content-type': 'application/json' }, body: JSON.stringify({ user: 'x', role: 'admin' }) });
    expect(asUser.status).toBe(403);

    const minted = await fetch(`${base}/api/v1/auth/tokens`, { method: 'POST', headers: auth, body: JSON.stringify({ user: 'rider7', role: 'rider', ttl: '5m' }) });
    expect(minted.status).toBe(201);
    expect((await fetch(`${base}/health`)).status).toBe(200);
  });

  it('stops on SIGTERM within 5 s with exit code 0 and removes its state', async () => {
    const { code, ms } = await stack.stop();
    expect(code).toBe(0);
    expect(ms).toBeLessThan(5000);
    expect(runFiles(dir)).toEqual([]);
    expect(infra(['status', '--dir', dir]).code).toBe(1);
  });
});

/**
 * Announces a body larger than the server accepts (Content-Length) and sends only its first bytes: the server
 * must answer 413 from the announced length without waiting for the rest. (Sending all 2 MB races the server
 * closing the connection after its answer: the client's write fails with EPIPE and the answer can be lost.)
 */
function postOversize(url: string, headers: Record<string, string>, body: string): Promise<{ status: number; body: string }> {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: text });
        req.destroy();
      });
      res.on('error', reject);
    });
    req.on('error', (err) => setTimeout(() => reject(err), 1000)); // only fails the test if no answer came
    req.write(body.slice(0, 1024));
  });
}

/** Reads an HTTP-FLV stream until a video keyframe tag arrives. */
function readFlv(url: string, timeoutMs: number): Promise<{ header: string; keyframe: boolean }> {
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + timeoutMs;
    const attempt = (): void => {
      const req = get(url, (res) => {
        let buf = Buffer.alloc(0);
        res.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          if (buf.length < 13) return;
          let off = 13; // 9-byte header + PreviousTagSize0
          while (off + 11 <= buf.length) {
            const type = buf[off] as number;
            const size = buf.readUIntBE(off + 1, 3);
            if (off + 11 + size + 4 > buf.length) break;
            const first = buf[off + 11] as number;
            if (type === 9 && first >> 4 === 1 && (first & 0x0f) === 7 && buf[off + 12] === 1) {
              req.destroy();
              resolve({ header: buf.subarray(0, 3).toString('latin1'), keyframe: true });
              return;
            }
            off += 11 + size + 4;
          }
        });
        res.on('error', () => undefined);
      });
      req.on('error', () => {
        if (Date.now() > deadline) reject(new Error(`no FLV from ${url}`));
        else setTimeout(attempt, 200);
      });
      req.setTimeout(timeoutMs, () => {
        req.destroy();
        reject(new Error(`no keyframe from ${url} within ${timeoutMs} ms`));
      });
    };
    attempt();
  });
}
