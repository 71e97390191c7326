import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { connect as tcpConnect } from 'node:net';
import { randomBytes } from 'node:crypto';
import mqtt from 'mqtt';
import { urlHost } from '@infra/core';

/** HTTP GET /ready: resolves on 200, rejects with the reply (which names the pillars not ready). */
export function probeHttpReady(host: string, port: number, timeoutMs: number, tls = false): Promise<void> {
  // Over TLS the probe asks whether the gateway is ready, not who it is: the certificate may name the public host
  // (or be self-signed), so it is not verified here. Clients verify it.
  const get = tls ? httpsGet : httpGet;
  return new Promise((resolve, reject) => {
    const req = get({ host, port, path: '/ready', timeout: timeoutMs, ...(tls ? { rejectUnauthorized: false } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`/ready answered ${res.statusCode}: ${body.slice(0, 300)}`))));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer from /ready within ${timeoutMs} ms`)));
    req.on('error', reject);
  });
}

/** A real MQTT 3.1.1 CONNECT with a token; resolves on CONNACK 0. */
export async function probeMqtt(host: string, port: number, username: string, token: string, timeoutMs: number): Promise<void> {
  const client = await mqtt.connectAsync(`mqtt://${urlHost(host)}:${port}`, {
    protocolVersion: 4,
    username,
    password: token,
    clientId: `infra-probe-${randomBytes(4).toString('hex')}`,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
  }, false);
  await client.endAsync(true);
}

const RTMP_HANDSHAKE_SIZE = 1536;

/** The RTMP handshake: C0+C1 out, S0+S1+S2 back with version 3. */
export function probeRtmp(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host, port });
    const chunks: Buffer[] = [];
    let received = 0;
    const done = (err?: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve();
    };
    const timer = setTimeout(() => done(new Error(`no RTMP handshake within ${timeoutMs} ms`)), timeoutMs);
    socket.on('connect', () => {
      const c1 = Buffer.alloc(RTMP_HANDSHAKE_SIZE);
      randomBytes(RTMP_HANDSHAKE_SIZE - 8).copy(c1, 8);
      socket.write(Buffer.concat([Buffer.from([3]), c1]));
    });
    socket.on('data', (data) => {
      chunks.push(data);
      received += data.length;
      if (received < 1 + 2 * RTMP_HANDSHAKE_SIZE) return;
      const all = Buffer.concat(chunks);
      if (all[0] !== 3) return done(new Error(`RTMP server answered version ${String(all[0])}, expected 3`));
      socket.write(all.subarray(1, 1 + RTMP_HANDSHAKE_SIZE)); // C2 = S1, completing the handshake
      done();
    });
    socket.on('error', (err) => done(err));
    socket.on('close', () => done(new Error('connection closed during RTMP handshake')));
  });
}
