import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { infra, initStack, tempDir } from './harness.js';

const tmp = tempDir();
let dir: string;
let good: string;

beforeAll(() => {
  dir = initStack(tmp.dir, 'minimal');
  good = readFileSync(join(dir, 'infra.yaml'), 'utf8');
});
afterAll(() => tmp.cleanup());

const cases: { name: string; yaml: (good: string) => string; code: string; where: RegExp; mentions: string[] }[] = [
  { name: 'bad YAML', yaml: (g) => g.replace('http:\n', 'http:\n  port: [8080\n'), code: 'INFRA_ERR_CONFIG_SYNTAX', where: /infra\.yaml:\d+:\d+/, mentions: [] },
  { name: 'wrong type', yaml: (g) => g.replace('port: 8080', 'port: eighty'), code: 'INFRA_ERR_CONFIG_INVALID', where: /infra\.yaml:9:9:/, mentions: ['http.port', 'integer'] },
  { name: 'unknown key', yaml: (g) => `${g}\ncolour: blue\n`, code: 'INFRA_ERR_CONFIG_UNKNOWN_KEY', where: /infra\.yaml:13:1:/, mentions: ['colour'] },
  { name: 'typo', yaml: (g) => g.replace('http:', 'htpp:'), code: 'INFRA_ERR_CONFIG_UNKNOWN_KEY', where: /infra\.yaml:7:1:/, mentions: ['htpp', 'did you mean "http"'] },
];

describe('a broken infra.yaml', () => {
  for (const c of cases) {
    for (const command of [['config', 'validate'], ['up']]) {
      it(`${c.name}: \`infra ${command.join(' ')}\` names file:line:column and key, no stack trace`, () => {
        writeFileSync(join(dir, 'infra.yaml'), c.yaml(good));
        const r = infra([...command, '--dir', dir]);
        expect(r.code).toBe(1);
        const first = r.stderr.split('\n')[0] ?? '';
        expect(first.startsWith(`error ${c.code}: ${join(dir, 'infra.yaml')}`)).toBe(true);
        expect(first).toMatch(c.where);
        for (const m of c.mentions) expect(first).toContain(m);
        expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      });
    }
  }

  it('a --set typo names the key and suggests the right one', () => {
    writeFileSync(join(dir, 'infra.yaml'), good);
    const r = infra(['config', 'validate', '--dir', dir, '--set', 'mqtt.prot=1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error INFRA_ERR_CONFIG_UNKNOWN_KEY: --set mqtt.prot');
    expect(r.stderr).toContain('did you mean "mqtt.port"');
  });

  it('`infra up` refuses to start without secrets and says how to fix it', () => {
    writeFileSync(join(dir, 'infra.yaml'), good);
    writeFileSync(join(dir, '.env'), '# emptied\n');
    const r = infra(['up', '--dir', dir, '--set', 'http.port=0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error INFRA_ERR_SECRETS_MISSING');
    expect(r.stderr).toContain('infra init --secrets-only');
    const fixed = infra(['init', dir, '--secrets-only']);
    expect(fixed.code).toBe(0);
    expect(infra(['config', 'validate', '--dir', dir]).code).toBe(0);
  });

  it('`infra up` refuses a storage.url it cannot use yet instead of silently using SQLite', () => {
    writeFileSync(join(dir, 'infra.yaml'), good);
    const r = infra(['up', '--dir', dir, '--set', 'http.port=0', '--set', 'storage.url=postgres://app:pw@db/shop']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error INFRA_ERR_UNSUPPORTED: storage.url postgres:\/\/\*\*\*@db\/shop/);
    expect(r.stderr).not.toContain('pw');
  });

  it('${ENV} values are interpolated and `config print` masks secrets', () => {
    writeFileSync(join(dir, 'infra.yaml'), good.replace('port: 8080', 'port: ${SHOP_PORT:-9090}'));
    const r = infra(['config', 'print', '--json', '--dir', dir], { env: { SHOP_PORT: '18081' } });
    expect(r.code).toBe(0);
    const printed = JSON.parse(r.stdout) as { http: { port: number }; secrets: Record<string, string> };
    expect(printed.http.port).toBe(18081);
    const env = readFileSync(join(dir, '.env'), 'utf8');
    // data keys show their key ids (which key seals), each secret masked; the others are masked whole
    for (const [k, v] of Object.entries(printed.secrets)) {
      expect(v).toMatch(k === 'INFRA_DATA_KEYS' ? /^k\d{8}:\*{8}.{4}$/ : /^\*{8}.{4}$/);
      expect(env).not.toContain(v);
    }
    expect(Object.keys(printed.secrets).sort()).toEqual(['INFRA_DATA_KEYS', 'INFRA_JWT_SECRET', 'INFRA_STREAM_KEY_SALT']);
    const withDefault = infra(['config', 'print', '--json', '--dir', dir]);
    expect((JSON.parse(withDefault.stdout) as { http: { port: number } }).http.port).toBe(9090);
  });
});
