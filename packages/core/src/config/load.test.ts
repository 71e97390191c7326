import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applySet, describeSchema, loadConfig, parseConfigText, schemaAt } from './load.js';
import { ConfigSchema } from './schema.js';
import { InfraError, type ErrorCode } from '../errors.js';

const FILE = '/stack/infra.yaml';

/** Runs fn, asserts it threw an InfraError with `code`, and returns it for detail checks. */
function expectInfraError(fn: () => unknown, code: ErrorCode): InfraError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code} to be thrown`).toBeInstanceOf(InfraError);
  const err = thrown as InfraError;
  expect(err.code).toBe(code);
  return err;
}

const parse = (text: string, env: Record<string, string | undefined> = {}, set: string[] = []) => parseConfigText(text, FILE, env, set);

describe('parseConfigText: a valid file', () => {
  it('fills every default into a minimal `version: 1` file', () => {
    const c = parse('version: 1\n');
    expect(c.version).toBe(1);
    expect(c.name).toBe('infra');
    expect(c.services).toEqual(['server', 'broker', 'media']);
    expect(c.modules).toEqual([]);
    expect(c.http).toEqual({ host: '127.0.0.1', port: 8080, bodyLimit: 1048576, publicUrl: '' });
    expect(c.mqtt).toEqual({ port: 1883, tlsPort: 8883, websocket: true, maxPacketBytes: 262144 });
    expect(c.tls).toEqual({ cert: '', key: '' });
    expect(c.media).toMatchObject({ rtmp: { port: 1935 }, http: { port: 8000 }, ffmpeg: '', streamKeyTtl: '365d', coverSeconds: 10, record: true, vodRetention: '' });
    expect(c.media.hls).toMatchObject({ segmentSeconds: 2, listSize: 6 });
    expect(c.media.hls.renditions.map((r) => r.height)).toEqual([720, 480, 360]);
    expect(c.data).toEqual({ dir: './data' });
    expect(c.storage).toEqual({ url: '' });
    expect(c.auth).toEqual({ tokenTtl: '1h', devTokenTtl: '12h' });
    expect(c.log).toEqual({ level: 'info' });
    expect(c.startup).toEqual({ timeoutMs: 15000 });
  });

  it('keeps given values and defaults only the missing siblings', () => {
    const c = parse('version: 1\nname: shop\nhttp:\n  port: 9000\nmedia:\n  rtmp:\n    port: 0\nmodules: [orders, im]\n');
    expect(c.name).toBe('shop');
    expect(c.http.port).toBe(9000);
    expect(c.http.host).toBe('127.0.0.1');
    expect(c.media.rtmp.port).toBe(0);
    expect(c.media.http.port).toBe(8000);
    expect(c.modules).toEqual(['orders', 'im']);
  });

  it('accepts comments and an explicit document marker', () => {
    const c = parse('# my stack\n---\nversion: 1 # the only version\nlog:\n  level: debug\n');
    expect(c.log.level).toBe('debug');
  });
});

describe('parseConfigText: YAML syntax errors', () => {
  it('a nested mapping on one line is INFRA_ERR_CONFIG_SYNTAX at its line and column', () => {
    const err = expectInfraError(() => parse('version: 1\nname: a: b\n'), 'INFRA_ERR_CONFIG_SYNTAX');
    expect(err.details[0]).toMatchObject({ file: FILE, line: 2, column: 7 });
    expect(err.message).toContain(`${FILE}:2:7`);
  });

  it('a misaligned mapping item is reported on its own line', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: 1\n host: x\n'), 'INFRA_ERR_CONFIG_SYNTAX');
    expect(err.details[0]).toMatchObject({ file: FILE, line: 4, column: 1 });
  });

  it('tab indentation is a syntax error on the tabbed line', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n\tport: 1\n'), 'INFRA_ERR_CONFIG_SYNTAX');
    expect(err.details[0]).toMatchObject({ file: FILE, line: 3, column: 1 });
  });

  it('an unclosed flow sequence is a syntax error with a position', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: [8080\n'), 'INFRA_ERR_CONFIG_SYNTAX');
    expect(err.details[0]?.file).toBe(FILE);
    expect(err.details[0]?.line).toBeGreaterThanOrEqual(3);
    expect(err.details[0]?.column).toBeGreaterThanOrEqual(1);
  });

  it('a duplicate key is refused at the second occurrence', () => {
    const err = expectInfraError(() => parse('version: 1\nversion: 1\n'), 'INFRA_ERR_CONFIG_SYNTAX');
    expect(err.details[0]).toMatchObject({ file: FILE, line: 2, column: 1 });
  });

  it('a top-level list is INFRA_ERR_CONFIG_INVALID, not a crash', () => {
    expectInfraError(() => parse('- version\n- 1\n'), 'INFRA_ERR_CONFIG_INVALID');
  });
});

describe('parseConfigText: wrong types and values', () => {
  it('a quoted string port is INFRA_ERR_CONFIG_INVALID at the value, path http.port', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: "abc"\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details).toHaveLength(1);
    expect(err.details[0]).toMatchObject({ path: 'http.port', file: FILE, line: 3, column: 9 });
    expect(err.message).toContain(`${FILE}:3:9`);
    expect(err.message).toContain('http.port');
  });

  it('an out-of-range port is INFRA_ERR_CONFIG_INVALID at the value', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: 70000\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'http.port', file: FILE, line: 3, column: 9 });
  });

  it('a negative and a fractional port are refused', () => {
    expectInfraError(() => parse('version: 1\nmqtt:\n  port: -1\n'), 'INFRA_ERR_CONFIG_INVALID');
    const err = expectInfraError(() => parse('version: 1\nmqtt:\n  port: 1883.5\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'mqtt.port', line: 3, column: 9 });
  });

  it('a deep value is located: media.rtmp.port', () => {
    const err = expectInfraError(() => parse('version: 1\nmedia:\n  rtmp:\n    port: true\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'media.rtmp.port', file: FILE, line: 4, column: 11 });
  });

  it('lists every bad key, one detail per key', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: x\nmqtt:\n  port: y\nlog:\n  level: loud\n'), 'INFRA_ERR_CONFIG_INVALID');
    const paths = err.details.map((d) => d.path);
    expect(paths).toEqual(expect.arrayContaining(['http.port', 'mqtt.port', 'log.level']));
    expect(new Set(paths).size).toBe(paths.length);
    expect(err.details.find((d) => d.path === 'log.level')).toMatchObject({ line: 7, column: 10 });
  });

  it('a bad list item is located by index', () => {
    const err = expectInfraError(() => parse('version: 1\nservices:\n  - server\n  - nope\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'services.1', line: 4, column: 5 });
  });

  it('duplicate services are refused', () => {
    const err = expectInfraError(() => parse('version: 1\nservices: [server, server]\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]?.path).toBe('services');
  });

  it('a section left empty (null) is refused, not silently defaulted', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'http', line: 2 });
  });

  it('pattern-checked strings are validated (auth.tokenTtl)', () => {
    const err = expectInfraError(() => parse('version: 1\nauth:\n  tokenTtl: 1 week\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'auth.tokenTtl', line: 3, column: 13 });
  });
});

describe('parseConfigText: version', () => {
  it('refuses version: 2 at the value', () => {
    const err = expectInfraError(() => parse('version: 2\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'version', file: FILE, line: 1, column: 10 });
  });

  it('refuses a file without version', () => {
    const err = expectInfraError(() => parse('http:\n  port: 1\n'), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details.map((d) => d.path)).toContain('version');
  });

  it('refuses an empty file (it has no version)', () => {
    const err = expectInfraError(() => parse(''), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details.map((d) => d.path)).toContain('version');
  });
});

describe('parseConfigText: unknown keys', () => {
  it('an unknown nested key is INFRA_ERR_CONFIG_UNKNOWN_KEY at the key', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  colour: blue\n'), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details[0]).toMatchObject({ path: 'http.colour', file: FILE, line: 3, column: 3 });
    expect(err.message).toContain('http.colour');
    expect(err.message).toContain(`${FILE}:3:3`);
  });

  it('a deep unknown key is located: media.rtmp.chunk', () => {
    const err = expectInfraError(() => parse('version: 1\nmedia:\n  rtmp:\n    port: 1\n    chunk: 4096\n'), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details[0]).toMatchObject({ path: 'media.rtmp.chunk', line: 5, column: 5 });
  });

  it('typo `htpp` suggests `http`', () => {
    const err = expectInfraError(() => parse('version: 1\nhtpp:\n  port: 1\n'), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details[0]).toMatchObject({ path: 'htpp', line: 2, column: 1 });
    expect(err.details[0]?.message).toContain('"http"');
  });

  it('typo `prot` under mqtt suggests `mqtt.port`', () => {
    const err = expectInfraError(() => parse('version: 1\nmqtt:\n  prot: 1\n'), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details[0]).toMatchObject({ path: 'mqtt.prot', line: 3, column: 3 });
    expect(err.details[0]?.message).toContain('"mqtt.port"');
  });

  it('a key far from every known key gets no suggestion', () => {
    const err = expectInfraError(() => parse('version: 1\nzzzzzzzzzz: 1\n'), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details[0]?.message).not.toContain('did you mean');
  });

  it('lists every unknown key, each with its own line', () => {
    const err = expectInfraError(() => parse('version: 1\nfoo: 1\nhttp:\n  bar: 2\n'), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details.map((d) => [d.path, d.line])).toEqual([
      ['foo', 2],
      ['http.bar', 4],
    ]);
  });

  it('unknown keys are reported before type errors', () => {
    expectInfraError(() => parse('version: 1\nhttp:\n  port: abc\n  colour: blue\n'), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
  });

  // Names of Object.prototype members must not count as known keys.
  it.each(['constructor', 'toString', '__proto__', 'hasOwnProperty'])('`%s` is an unknown key, not a known one', (key) => {
    const err = expectInfraError(() => parse(`version: 1\nhttp:\n  ${key}:\n    x: 1\n`), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details[0]).toMatchObject({ path: `http.${key}`, line: 3, column: 3 });
    const top = expectInfraError(() => parse(`version: 1\n${key}: 1\n`), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(top.details[0]).toMatchObject({ path: key, line: 2, column: 1 });
  });
});

describe('parseConfigText: ${ENV} interpolation', () => {
  it('a whole-value reference becomes a number for a port', () => {
    const c = parse('version: 1\nhttp:\n  port: ${SHOP_PORT}\n', { SHOP_PORT: '9090' });
    expect(c.http.port).toBe(9090);
  });

  it('a whole-value reference becomes a boolean', () => {
    const c = parse('version: 1\nmqtt:\n  websocket: ${WS}\n', { WS: 'false' });
    expect(c.mqtt.websocket).toBe(false);
  });

  it('a quoted whole-value reference is still read as a number', () => {
    const c = parse('version: 1\nhttp:\n  port: "${P}"\n', { P: '7000' });
    expect(c.http.port).toBe(7000);
  });

  it('a numeric-looking value stays a string where a string is expected', () => {
    const c = parse('version: 1\nhttp:\n  publicUrl: https://${HOST}:${PORT}/x\n', { HOST: 'shop.example', PORT: '443' });
    expect(c.http.publicUrl).toBe('https://shop.example:443/x');
  });

  it('embeds references inside strings', () => {
    const c = parse('version: 1\nname: shop-${ENVIRONMENT}\ndata:\n  dir: /srv/${ENVIRONMENT}/data\n', { ENVIRONMENT: 'staging' });
    expect(c.name).toBe('shop-staging');
    expect(c.data.dir).toBe('/srv/staging/data');
  });

  it('uses ${VAR:-default} when the variable is unset or empty', () => {
    expect(parse('version: 1\nhttp:\n  port: ${P:-9191}\n', {}).http.port).toBe(9191);
    expect(parse('version: 1\nhttp:\n  port: ${P:-9191}\n', { P: '' }).http.port).toBe(9191);
    expect(parse('version: 1\nhttp:\n  port: ${P:-9191}\n', { P: '9292' }).http.port).toBe(9292);
    expect(parse('version: 1\nhttp:\n  host: ${H:-}\n', {}).http.host).toBe('');
    expect(parse('version: 1\nname: a-${N:-b}-c\n', {}).name).toBe('a-b-c');
  });

  it('`$$` escapes a literal dollar', () => {
    const c = parse('version: 1\nhttp:\n  publicUrl: "https://x/$${NOT_A_VAR}"\n', {});
    expect(c.http.publicUrl).toBe('https://x/${NOT_A_VAR}');
  });

  it('a missing variable is INFRA_ERR_CONFIG_ENV_MISSING with its line', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: ${NO_SUCH_PORT}\n', {}), 'INFRA_ERR_CONFIG_ENV_MISSING');
    expect(err.details[0]).toMatchObject({ file: FILE, line: 3, column: 9 });
    expect(err.message).toContain('NO_SUCH_PORT');
  });

  it('a missing variable inside a string names the variable and the line', () => {
    const err = expectInfraError(() => parse('version: 1\nname: shop\ndata:\n  dir: /srv/${NO_SUCH_DIR}/x\n', {}), 'INFRA_ERR_CONFIG_ENV_MISSING');
    expect(err.details[0]).toMatchObject({ file: FILE, line: 4 });
    expect(err.message).toContain('NO_SUCH_DIR');
  });

  it('an empty variable without a default counts as missing', () => {
    expectInfraError(() => parse('version: 1\nhttp:\n  port: ${P}\n', { P: '' }), 'INFRA_ERR_CONFIG_ENV_MISSING');
  });

  it('an interpolated value is still validated, at the position of the reference', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: ${P}\n', { P: '99999' }), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'http.port', line: 3, column: 9 });
  });

  // Secrets and URLs may begin with characters YAML reserves (@, `, *, %, [ ...): they are plain strings, not YAML.
  it.each(['@admin', '*star', '%percent', '`tick', '[unclosed', '{a', '"half', 'a: b', '- item'])('a whole-value variable %j stays the string it is', (value) => {
    const c = parse('version: 1\nhttp:\n  publicUrl: ${URL}\n', { URL: value });
    expect(c.http.publicUrl).toBe(value);
  });

  it('a variable whose value is not a number is refused for a port, at the reference', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: ${P}\n', { P: '@80' }), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'http.port', line: 3, column: 9 });
  });
});

describe('parseConfigText: --set overrides', () => {
  it('--set http.port=18080 overrides the file with a number', () => {
    const c = parse('version: 1\nhttp:\n  port: 8080\n', {}, ['http.port=18080']);
    expect(c.http.port).toBe(18080);
  });

  it('--set creates a missing section and later sets win', () => {
    const c = parse('version: 1\n', {}, ['media.rtmp.port=0', 'http.port=1', 'http.port=2']);
    expect(c.media.rtmp.port).toBe(0);
    expect(c.http.port).toBe(2);
  });

  it('--set reads booleans and lists as YAML, and keeps string keys as strings', () => {
    const c = parse('version: 1\n', {}, ['mqtt.websocket=false', 'services=[server, media]', 'name=123', 'http.publicUrl=']);
    expect(c.mqtt.websocket).toBe(false);
    expect(c.services).toEqual(['server', 'media']);
    expect(c.name).toBe('123');
    expect(c.http.publicUrl).toBe('');
  });

  it('--set fixes a bad value in the file', () => {
    const c = parse('version: 1\nhttp:\n  port: abc\n', {}, ['http.port=1']);
    expect(c.http.port).toBe(1);
  });

  it('--set htpp.port=1 is INFRA_ERR_CONFIG_UNKNOWN_KEY suggesting http.port', () => {
    const err = expectInfraError(() => parse('version: 1\n', {}, ['htpp.port=1']), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.details[0]).toMatchObject({ file: '--set', path: 'htpp.port' });
    expect(err.details[0]?.message).toContain('did you mean "http.port"');
    expect(err.message).toContain('"htpp"');
    expect(err.message).toContain('"http.port"');
  });

  it('--set mqtt.prot=1 suggests mqtt.port', () => {
    const err = expectInfraError(() => parse('version: 1\n', {}, ['mqtt.prot=1']), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(err.message).toContain('"mqtt.port"');
  });

  it('--set below a leaf is an unknown key', () => {
    expectInfraError(() => parse('version: 1\n', {}, ['http.port.x=1']), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
  });

  it.each(['constructor=1', '__proto__=1', 'http.toString=1', '__proto__.polluted=1'])('--set %s is an unknown key', (assignment) => {
    expectInfraError(() => parse('version: 1\n', {}, [assignment]), 'INFRA_ERR_CONFIG_UNKNOWN_KEY');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('--set http.port=abc is INFRA_ERR_CONFIG_INVALID from file --set, without a line', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: 8080\n', {}, ['http.port=abc']), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'http.port', file: '--set' });
    expect(err.details[0]?.line).toBeUndefined();
    expect(err.message.startsWith('--set')).toBe(true);
  });

  it('--set with spaces around the key is still attributed to --set', () => {
    const err = expectInfraError(() => parse('version: 1\nhttp:\n  port: 8080\n', {}, ['http.port = abc']), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'http.port', file: '--set' });
  });

  it('a file error next to a valid --set is still located in the file', () => {
    const err = expectInfraError(() => parse('version: 1\nmqtt:\n  port: abc\n', {}, ['http.port=1']), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ path: 'mqtt.port', file: FILE, line: 3, column: 9 });
  });

  it.each(['nokey', '=1', ''])('--set %j is INFRA_ERR_SET_SYNTAX', (assignment) => {
    expectInfraError(() => parse('version: 1\n', {}, [assignment]), 'INFRA_ERR_SET_SYNTAX');
  });
});

describe('applySet, schemaAt, describeSchema', () => {
  it('applySet writes into nested objects, replacing non-objects on the way', () => {
    const target: Record<string, unknown> = { http: null };
    applySet(target, 'http.port=5');
    expect(target).toEqual({ http: { port: 5 } });
  });

  it('schemaAt finds known keys and nothing else', () => {
    expect(schemaAt([])).toBe(ConfigSchema);
    expect(schemaAt(['http', 'port'])).toBeDefined();
    expect(schemaAt(['http', 'nope'])).toBeUndefined();
    expect(schemaAt(['constructor'])).toBeUndefined();
  });

  it('describeSchema describes the port type', () => {
    const port = schemaAt(['http', 'port']);
    expect(port).toBeDefined();
    const text = describeSchema(port!);
    expect(text).toContain('integer');
    expect(text).toContain('65535');
  });
});

describe('loadConfig on a real stack directory', () => {
  const dirs: string[] = [];
  const stack = (files: Record<string, string>): string => {
    const dir = mkdtempSync(join(tmpdir(), 'infra-core-load-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  };
  const secret = (c: string) => c.repeat(40);
  const envFile = `INFRA_JWT_SECRET=${secret('j')}\nINFRA_STREAM_KEY_SALT=${secret('s')}\nINFRA_DATA_KEYS=k1:${secret('d')}\n`;
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  it('resolves data.dir relative to the stack directory', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\ndata:\n  dir: ./var/state\n' });
    const loaded = loadConfig({ dir, env: {} });
    expect(loaded.dir).toBe(dir);
    expect(loaded.file).toBe(join(dir, 'infra.yaml'));
    expect(loaded.dataDir).toBe(join(dir, 'var', 'state'));
    expect(loaded.secretsFile).toBe(join(dir, '.env'));
  });

  it('defaults data.dir to <dir>/data, and keeps an absolute data.dir as is', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\n' });
    expect(loadConfig({ dir, env: {} }).dataDir).toBe(join(dir, 'data'));
    const abs = join(dir, 'elsewhere');
    writeFileSync(join(dir, 'infra.yaml'), `version: 1\ndata:\n  dir: ${abs}\n`);
    expect(loadConfig({ dir, env: {} }).dataDir).toBe(abs);
  });

  it('resolves a relative dir option against the cwd', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\n' });
    const cwd = process.cwd();
    try {
      process.chdir(join(dir, '..'));
      const name = dir.split(/[\\/]/).pop() as string;
      expect(loadConfig({ dir: name, env: {} }).dir).toBe(join(process.cwd(), name));
    } finally {
      process.chdir(cwd);
    }
  });

  it('reads secrets from .env', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\n', '.env': envFile });
    const loaded = loadConfig({ dir, env: {}, requireSecrets: true });
    expect(loaded.secrets).toEqual({ jwtSecret: secret('j'), streamKeySalt: secret('s'), dataKeys: `k1:${secret('d')}` });
  });

  it('the environment wins over .env for secrets and interpolation', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\nhttp:\n  port: ${SHOP_PORT}\n', '.env': `${envFile}SHOP_PORT=7001\n` });
    expect(loadConfig({ dir, env: {} }).config.http.port).toBe(7001);
    const loaded = loadConfig({ dir, env: { SHOP_PORT: '7002', INFRA_JWT_SECRET: secret('e') } });
    expect(loaded.config.http.port).toBe(7002);
    expect(loaded.secrets?.jwtSecret).toBe(secret('e'));
    expect(loaded.secrets?.streamKeySalt).toBe(secret('s'));
  });

  it('applies --set overrides', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\n' });
    expect(loadConfig({ dir, env: {}, set: ['http.port=18080'] }).config.http.port).toBe(18080);
  });

  it('with requireSecrets and no .env throws INFRA_ERR_SECRETS_MISSING', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\n' });
    expectInfraError(() => loadConfig({ dir, env: {}, requireSecrets: true }), 'INFRA_ERR_SECRETS_MISSING');
  });

  it('with requireSecrets and a short secret throws INFRA_ERR_SECRETS_MISSING', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\n', '.env': `INFRA_JWT_SECRET=short\nINFRA_STREAM_KEY_SALT=${secret('s')}\nINFRA_DATA_KEYS=k1:${secret('d')}\n` });
    const err = expectInfraError(() => loadConfig({ dir, env: {}, requireSecrets: true }), 'INFRA_ERR_SECRETS_MISSING');
    expect(err.message).toContain('INFRA_JWT_SECRET');
    expect(err.message).not.toContain('INFRA_STREAM_KEY_SALT');
  });

  it('without requireSecrets and no .env loads with secrets undefined', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\n' });
    expect(loadConfig({ dir, env: {} }).secrets).toBeUndefined();
  });

  it('a file error names the absolute infra.yaml path', () => {
    const dir = stack({ 'infra.yaml': 'version: 1\nhttp:\n  port: abc\n' });
    const err = expectInfraError(() => loadConfig({ dir, env: {} }), 'INFRA_ERR_CONFIG_INVALID');
    expect(err.details[0]).toMatchObject({ file: join(dir, 'infra.yaml'), path: 'http.port', line: 3, column: 9 });
  });

  it('a non-existent directory is INFRA_ERR_CONFIG_NOT_FOUND', () => {
    const dir = stack({});
    expectInfraError(() => loadConfig({ dir: join(dir, 'does-not-exist'), env: {} }), 'INFRA_ERR_CONFIG_NOT_FOUND');
  });

  it('a directory without infra.yaml is INFRA_ERR_CONFIG_NOT_FOUND', () => {
    const dir = stack({ '.env': envFile });
    mkdirSync(join(dir, 'sub'));
    expectInfraError(() => loadConfig({ dir, env: {} }), 'INFRA_ERR_CONFIG_NOT_FOUND');
    expectInfraError(() => loadConfig({ dir: join(dir, 'sub'), env: {} }), 'INFRA_ERR_CONFIG_NOT_FOUND');
  });
});
