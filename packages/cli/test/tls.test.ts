import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { get as httpGet } from 'node:http';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { TokenIssuer, parseEnvFile } from '@infra/core';
import { FREE_PORTS, infra, initStack, tempDir, upStack } from './harness.js';

const tmp = tempDir('infra-tls-');
let dir: string;
let ca: string;
let issuer: TokenIssuer;
beforeAll(() => {
  dir = initStack(tmp.dir, 'delivery');
  const r = infra(['init', dir, '--secrets-only', '--tls']);
  expect(r.code).toBe(0);
  ca = readFileSync(join(dir, 'tls', 'cert.pem'), 'utf8');
  issuer = new TokenIssuer(parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'))['INFRA_JWT_SECRET'] ?? '');
});
afterAll(() => tmp.cleanup());

/** GET over HTTPS, verifying the server against `ca` (the dev certificate) unless told not to */
function getHttps(port: number, path: string, opts: { ca?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    httpsGet({ host: '127.0.0.1', port, path, ...(opts.ca ? { ca: opts.ca } : {}) }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}

describe('TLS (infra init --tls)', () => {
  it('writes a certificate and a 0600 key that git ignores, and points infra.yaml at them', () => {
    expect(statSync(join(dir, 'tls', 'key.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toContain('tls/key.pem');
    expect(readFileSync(join(dir, 'infra.yaml'), 'utf8')).toMatch(/^tls:\n {2}cert: \.\/tls\/cert\.pem\n {2}key: \.\/tls\/key\.pem$/m);
    // asking again keeps the config as it is (one tls: section)
    expect(infra(['init', dir, '--secrets-only', '--tls']).code).toBe(0);
    expect(readFileSync(join(dir, 'infra.yaml'), 'utf8').match(/^tls:/gm)).toHaveLength(1);
    ca = readFileSync(join(dir, 'tls', 'cert.pem'), 'utf8');
    expect(infra(['config', 'validate', '--dir', dir]).code).toBe(0);
  });

  it('serves HTTPS, WSS and mqtts that verify against the certificate; plain HTTP on the gateway port is refused', async () => {
    const stack = await upStack(dir, FREE_PORTS);
    try {
      const api = stack.port('server', 'api');
      expect(stack.state.endpoints['server']?.find((e) => e.name === 'api')?.url).toMatch(/^https:\/\//);
      expect((await getHttps(api, '/health', { ca })).status).toBe(200);
      // without trusting the dev certificate a client refuses it
      await expect(getHttps(api, '/health')).rejects.toThrow(/self[- ]signed|unable to verify/i);
      // plain HTTP to the TLS port gets no HTTP answer
      const plain = await new Promise<string>((resolve) => {
        httpGet({ host: '127.0.0.1', port: api, path: '/health', timeout: 3000 }, (res) => resolve(`status ${res.statusCode}`)).on('error', (e) => resolve(e.message)).on('timeout', function (this: { destroy(): void }) {
          this.destroy();
        });
      });
      expect(plain).not.toBe('status 200');

      const token = await issuer.sign('ada', 'user', 600);
      const mqtts = stack.port('broker', 'mqtts');
      const secure = await mqtt.connectAsync(`mqtts://127.0.0.1:${mqtts}`, { protocolVersion: 4, username: 'ada', password: token, ca, reconnectPeriod: 0 }, false);
      expect((await secure.subscribeAsync('im/u/ada', { qos: 1 }))[0]?.qos).toBe(1);
      await secure.endAsync(true);
      await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${mqtts}`, { protocolVersion: 4, username: 'ada', password: token, reconnectPeriod: 0, connectTimeout: 3000 }, false)).rejects.toThrow(/self[- ]signed|unable to verify/i);
      const wss = await mqtt.connectAsync(`wss://127.0.0.1:${api}/mqtt`, { protocolVersion: 4, username: 'ada', password: token, ca, reconnectPeriod: 0 } as mqtt.IClientOptions, false);
      expect((await wss.subscribeAsync('im/u/ada', { qos: 1 }))[0]?.qos).toBe(1);
      await wss.endAsync(true);
      // an unauthorised token is still refused over TLS
      await expect(mqtt.connectAsync(`mqtts://127.0.0.1:${mqtts}`, { protocolVersion: 4, username: 'ada', password: 'nope', ca, reconnectPeriod: 0 }, false)).rejects.toThrow();
    } finally {
      await stack.stop();
    }
  });

  it('a missing or mismatched certificate refuses `infra up` with one line naming the key', () => {
    const yaml = readFileSync(join(dir, 'infra.yaml'), 'utf8');
    try {
      writeFileSync(join(dir, 'infra.yaml'), yaml.replace('./tls/cert.pem', './tls/nope.pem'));
      const missing = infra(['up', '--dir', dir, ...FREE_PORTS]);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('INFRA_ERR_TLS');
      expect(missing.stderr).toContain('tls.cert');
      expect(missing.stderr).not.toMatch(/\n\s+at /);
      writeFileSync(join(dir, 'infra.yaml'), yaml.replace('./tls/key.pem', './tls/cert.pem'));
      const mismatched = infra(['up', '--dir', dir, ...FREE_PORTS]);
      expect(mismatched.stderr).toContain('INFRA_ERR_TLS');
    } finally {
      writeFileSync(join(dir, 'infra.yaml'), yaml);
    }
  });
});
