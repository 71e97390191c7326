import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { CONFIG_FILE, InfraError } from '@infra/core';

export const DEV_CERT = 'tls/cert.pem';
export const DEV_KEY = 'tls/key.pem';
const DAYS = 365;

export interface DevCertResult {
  cert: string;
  key: string;
  /** true when infra.yaml got a tls: section (false: it already had one, left as it was) */
  configured: boolean;
  fingerprint: string;
}

/**
 * `infra init --tls`: a self-signed certificate for development (EC P-256, one year, for localhost, 127.0.0.1, ::1
 * and this machine's name) in tls/, the key 0600 and git-ignored, and a `tls:` section in infra.yaml pointing at them.
 * Clients must trust tls/cert.pem (mosquitto_sub --cafile, mqtt.js `ca`, curl --cacert).
 */
export async function writeDevCert(dir: string, now = new Date()): Promise<DevCertResult> {
  const configFile = join(dir, CONFIG_FILE);
  if (!existsSync(configFile)) throw new InfraError('INFRA_ERR_CONFIG_NOT_FOUND', `no ${CONFIG_FILE} in ${dir}`);
  const { generate } = (await import('selfsigned')).default;
  const names = [...new Set(['localhost', hostname()])];
  const pems = await generate([{ name: 'commonName', value: 'localhost' }, { name: 'organizationName', value: 'infra development' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notBeforeDate: new Date(now.getTime() - 60_000),
    notAfterDate: new Date(now.getTime() + DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: [...names.map((value) => ({ type: 2 as const, value })), { type: 7 as const, ip: '127.0.0.1' }, { type: 7 as const, ip: '::1' }] },
    ],
  });
  mkdirSync(join(dir, 'tls'), { recursive: true });
  writeFileSync(join(dir, DEV_CERT), pems.cert);
  writeFileSync(join(dir, DEV_KEY), pems.private, { mode: 0o600 });
  chmodSync(join(dir, DEV_KEY), 0o600);

  const gitignore = join(dir, '.gitignore');
  const ignored = existsSync(gitignore) ? readFileSync(gitignore, 'utf8') : '';
  if (!ignored.split(/\r?\n/).includes(DEV_KEY)) appendFileSync(gitignore, `${ignored === '' || ignored.endsWith('\n') ? '' : '\n'}${DEV_KEY}\n`);

  const yaml = readFileSync(configFile, 'utf8');
  const configured = !/^tls\s*:/m.test(yaml);
  if (configured) {
    appendFileSync(configFile, `${yaml.endsWith('\n') ? '' : '\n'}\n# TLS: a self-signed development certificate from \`infra init --tls\` (HTTPS + WSS on http.port, mqtts on\n# mqtt.tlsPort). Clients trust ${DEV_CERT}. Point these at a real certificate for production.\ntls:\n  cert: ./${DEV_CERT}\n  key: ./${DEV_KEY}\n`);
  }
  return { cert: DEV_CERT, key: DEV_KEY, configured, fingerprint: pems.fingerprint };
}
