import { afterEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureSecretsFile, parseDataKeys, parseEnvFile, readEnvFile, resolveSecrets, secretKeys, SECRETS_FILE } from './secrets.js';
import { InfraError } from '../errors.js';

const JWT = secretKeys.jwtSecret;
const SALT = secretKeys.streamKeySalt;
const KEYS = secretKeys.dataKeys;
const dataKeys = `k1:${'d'.repeat(40)}`;

const dirs: string[] = [];
function tempFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'infra-core-secrets-'));
  dirs.push(dir);
  return join(dir, SECRETS_FILE);
}
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const mode = (file: string) => statSync(file).mode & 0o777;

describe('ensureSecretsFile', () => {
  it('creates a 0600 file holding every key, each long enough, the data keys as kid:secret', () => {
    const file = tempFile();
    const written = ensureSecretsFile(file);
    expect(written.sort()).toEqual([JWT, SALT, KEYS].sort());
    expect(mode(file)).toBe(0o600);
    const env = readEnvFile(file);
    expect(env[JWT]?.length).toBeGreaterThanOrEqual(32);
    expect(env[SALT]?.length).toBeGreaterThanOrEqual(32);
    expect(env[JWT]).not.toBe(env[SALT]);
    expect(parseDataKeys(env[KEYS] ?? '')).toEqual([{ id: expect.stringMatching(/^k\d{8}$/), secret: expect.any(String) }]);
    // what it wrote is accepted by the loader's check
    expect(() => resolveSecrets(env, file)).not.toThrow();
  });

  it('keeps existing valid secrets on a second call and writes nothing', () => {
    const file = tempFile();
    ensureSecretsFile(file);
    const before = readFileSync(file, 'utf8');
    expect(ensureSecretsFile(file)).toEqual([]);
    expect(readFileSync(file, 'utf8')).toBe(before);
  });

  it('two files get different secrets', () => {
    const a = tempFile();
    const b = tempFile();
    ensureSecretsFile(a);
    ensureSecretsFile(b);
    expect(readEnvFile(a)[JWT]).not.toBe(readEnvFile(b)[JWT]);
  });

  it('fills only the missing key, keeping the other and the rest of the file', () => {
    const file = tempFile();
    const keep = 'k'.repeat(40);
    writeFileSync(file, `# mine\nOTHER=1\n${JWT}=${keep}\n${KEYS}=${dataKeys}`); // no trailing newline
    expect(ensureSecretsFile(file)).toEqual([SALT]);
    const text = readFileSync(file, 'utf8');
    expect(text.startsWith('# mine\nOTHER=1\n')).toBe(true);
    const env = readEnvFile(file);
    expect(env[JWT]).toBe(keep);
    expect(env['OTHER']).toBe('1');
    expect(env[SALT]?.length).toBeGreaterThanOrEqual(32);
  });

  it('replaces a secret that is too short, keeping the long one', () => {
    const file = tempFile();
    const keep = 's'.repeat(32);
    writeFileSync(file, `${JWT}=short\n${SALT}=${keep}\n${KEYS}=${dataKeys}\n`);
    expect(ensureSecretsFile(file)).toEqual([JWT]);
    const env = readEnvFile(file);
    expect(env[JWT]).not.toBe('short');
    expect(env[JWT]?.length).toBeGreaterThanOrEqual(32);
    expect(env[SALT]).toBe(keep);
    expect(() => resolveSecrets(env, file)).not.toThrow();
    // the weak line is replaced, not left above the new one
    expect(readFileSync(file, 'utf8').match(new RegExp(`^${JWT}=`, 'gm'))).toHaveLength(1);
  });

  it('tightens an existing file to 0600 when it writes', () => {
    const file = tempFile();
    writeFileSync(file, 'OTHER=1\n');
    chmodSync(file, 0o644);
    ensureSecretsFile(file);
    expect(mode(file)).toBe(0o600);
  });
});

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines, skipping comments and blank lines', () => {
    const env = parseEnvFile('# a comment\n\nA=1\n   # indented comment\nB=two words\n');
    expect(env).toEqual({ A: '1', B: 'two words' });
  });

  it('strips matching double and single quotes, keeping what is inside', () => {
    const env = parseEnvFile(`A="quoted # not a comment"\nB='single'\nC="a=b"\nD=""\n`);
    expect(env).toEqual({ A: 'quoted # not a comment', B: 'single', C: 'a=b', D: '' });
  });

  it('keeps unmatched quotes', () => {
    expect(parseEnvFile(`A="open\nB=close'\n`)).toEqual({ A: '"open', B: "close'" });
  });

  it('accepts an `export` prefix and spaces around =', () => {
    expect(parseEnvFile('export A=1\nexport   B = "x"\n  C =3  \n')).toEqual({ A: '1', B: 'x', C: '3' });
  });

  it('handles CRLF line endings', () => {
    expect(parseEnvFile('A=1\r\nB="2"\r\n')).toEqual({ A: '1', B: '2' });
  });

  it('ignores lines that are not assignments, and keeps = inside values', () => {
    expect(parseEnvFile('not an assignment\n1BAD=x\nURL=postgres://u:p@h/db?x=1\n')).toEqual({ URL: 'postgres://u:p@h/db?x=1' });
  });

  it('the last assignment of a key wins', () => {
    expect(parseEnvFile('A=1\nA=2\n')).toEqual({ A: '2' });
  });

  it('readEnvFile of a missing file is empty', () => {
    expect(readEnvFile(join(tmpdir(), 'infra-no-such-dir', '.env'))).toEqual({});
  });
});

describe('resolveSecrets', () => {
  it('returns both secrets when both are long enough', () => {
    expect(resolveSecrets({ [JWT]: 'j'.repeat(32), [SALT]: 's'.repeat(33), [KEYS]: dataKeys }, '.env')).toEqual({ jwtSecret: 'j'.repeat(32), streamKeySalt: 's'.repeat(33), dataKeys });
  });

  it('refuses malformed data keys, naming the variable', () => {
    for (const bad of [`k1${'d'.repeat(40)}`, `k1:short,${dataKeys}`, `${dataKeys},${dataKeys}`, `bad id!:${'d'.repeat(40)}`]) {
      let err: unknown;
      try {
        resolveSecrets({ [JWT]: 'j'.repeat(32), [SALT]: 's'.repeat(33), [KEYS]: bad }, '.env');
      } catch (e) {
        err = e;
      }
      expect((err as InfraError).code).toBe('INFRA_ERR_SECRETS_MISSING');
      expect((err as InfraError).message).toContain(KEYS);
    }
    expect(parseDataKeys(`k2:${'e'.repeat(40)}, ${dataKeys}`).map((k) => k.id)).toEqual(['k2', 'k1']);
  });

  it('refuses missing and short secrets with INFRA_ERR_SECRETS_MISSING naming them', () => {
    let err: unknown;
    try {
      resolveSecrets({ [JWT]: 'j'.repeat(31) }, '/stack/.env');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InfraError);
    expect((err as InfraError).code).toBe('INFRA_ERR_SECRETS_MISSING');
    expect((err as InfraError).message).toContain(JWT);
    expect((err as InfraError).message).toContain(SALT);
  });
});
