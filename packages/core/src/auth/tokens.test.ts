import { describe, expect, it } from 'vitest';
import { SignJWT } from 'jose';
import { isRole, parseDuration, roles, TokenIssuer, type Role } from './tokens.js';
import { InfraError, type ErrorCode } from '../errors.js';

const SECRET = 'x'.repeat(48);

async function expectRejects(p: Promise<unknown>, code: ErrorCode): Promise<InfraError> {
  let thrown: unknown;
  try {
    await p;
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(InfraError);
  expect((thrown as InfraError).code).toBe(code);
  return thrown as InfraError;
}

function expectThrows(fn: () => unknown, code: ErrorCode): InfraError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(InfraError);
  expect((thrown as InfraError).code).toBe(code);
  return thrown as InfraError;
}

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const decode = (part: string) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')) as Record<string, unknown>;

describe('TokenIssuer', () => {
  const issuer = new TokenIssuer(SECRET);

  it.each(roles)('signs and verifies a %s token', async (role) => {
    const now = Date.now();
    const extra = role === 'merchant' ? { merchant: 'shop-1' } : {};
    const token = await issuer.sign('u1', role, 3600, now, extra);
    const claims = await issuer.verify(token);
    expect(claims).toEqual({ sub: 'u1', role, exp: Math.floor(now / 1000) + 3600, ...extra });
  });

  it('a merchant token must carry its merchant id; no other role may', async () => {
    await expect(issuer.sign('u1', 'merchant', 60)).rejects.toMatchObject({ code: 'INFRA_ERR_BAD_ARGUMENT' });
    await expect(issuer.sign('u1', 'merchant', 60, Date.now(), { merchant: 'a/b' })).rejects.toMatchObject({ code: 'INFRA_ERR_BAD_ARGUMENT' });
    await expect(issuer.sign('u1', 'service', 60, Date.now(), { merchant: 'shop-1' })).rejects.toMatchObject({ code: 'INFRA_ERR_BAD_ARGUMENT' });
    // correctly signed, but a merchant role without the claim: refused at verify
    const key = new TextEncoder().encode(SECRET);
    const forged = await new SignJWT({ role: 'merchant' }).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuer('infra').setIssuedAt().setExpirationTime('1h').sign(key);
    await expect(issuer.verify(forged)).rejects.toMatchObject({ code: 'INFRA_ERR_TOKEN_INVALID' });
  });

  it('writes an HS256 header, the infra issuer and iat', async () => {
    const now = Date.now();
    const [header, payload] = (await issuer.sign('rider:7@x', 'rider', 60, now)).split('.') as [string, string, string];
    expect(decode(header)).toMatchObject({ alg: 'HS256', typ: 'JWT' });
    expect(decode(payload)).toMatchObject({ sub: 'rider:7@x', role: 'rider', iss: 'infra', iat: Math.floor(now / 1000) });
  });

  it('a second issuer with the same secret verifies the token', async () => {
    const token = await issuer.sign('u1', 'user', 60);
    await expect(new TokenIssuer(SECRET).verify(token)).resolves.toMatchObject({ sub: 'u1' });
  });

  it('an expired token is INFRA_ERR_TOKEN_INVALID', async () => {
    const token = await issuer.sign('u1', 'user', 60, Date.now() - 2 * 3600 * 1000);
    const err = await expectRejects(issuer.verify(token), 'INFRA_ERR_TOKEN_INVALID');
    expect(err.message).toContain('expired');
  });

  it('a token signed with another secret is INFRA_ERR_TOKEN_INVALID', async () => {
    const token = await new TokenIssuer('y'.repeat(48)).sign('u1', 'admin', 3600);
    await expectRejects(issuer.verify(token), 'INFRA_ERR_TOKEN_INVALID');
  });

  it('a tampered payload is INFRA_ERR_TOKEN_INVALID', async () => {
    const [header, payload, signature] = (await issuer.sign('u1', 'user', 3600)).split('.') as [string, string, string];
    const forged = b64({ ...decode(payload), role: 'admin' });
    await expectRejects(issuer.verify(`${header}.${forged}.${signature}`), 'INFRA_ERR_TOKEN_INVALID');
    const otherUser = b64({ ...decode(payload), sub: 'u2' });
    await expectRejects(issuer.verify(`${header}.${otherUser}.${signature}`), 'INFRA_ERR_TOKEN_INVALID');
  });

  it('a tampered signature is INFRA_ERR_TOKEN_INVALID', async () => {
    const token = await issuer.sign('u1', 'user', 3600);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    await expectRejects(issuer.verify(`${token.slice(0, -2)}${last}${token.at(-1)}`), 'INFRA_ERR_TOKEN_INVALID');
  });

  it('an unsigned (alg: none) token is INFRA_ERR_TOKEN_INVALID', async () => {
    const payload = b64({ sub: 'u1', role: 'admin', iss: 'infra', exp: Math.floor(Date.now() / 1000) + 3600 });
    await expectRejects(issuer.verify(`${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`), 'INFRA_ERR_TOKEN_INVALID');
  });

  it.each(['', 'garbage', 'a.b.c', 'a.b'])('a malformed token %j is INFRA_ERR_TOKEN_INVALID', async (token) => {
    await expectRejects(issuer.verify(token), 'INFRA_ERR_TOKEN_INVALID');
  });

  it('a correctly signed token from another issuer is INFRA_ERR_TOKEN_INVALID', async () => {
    const token = await new SignJWT({ role: 'admin' })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('u1')
      .setIssuer('someone-else')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode(SECRET));
    await expectRejects(issuer.verify(token), 'INFRA_ERR_TOKEN_INVALID');
  });

  it('a correctly signed token with an unknown role, or none, is INFRA_ERR_TOKEN_INVALID', async () => {
    const key = new TextEncoder().encode(SECRET);
    const base = (claims: Record<string, unknown>) => new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject('u1').setIssuer('infra');
    await expectRejects(issuer.verify(await base({ role: 'root' }).setExpirationTime('1h').sign(key)), 'INFRA_ERR_TOKEN_INVALID');
    await expectRejects(issuer.verify(await base({}).setExpirationTime('1h').sign(key)), 'INFRA_ERR_TOKEN_INVALID');
    // and one without exp never verifies, however valid otherwise
    await expectRejects(issuer.verify(await base({ role: 'admin' }).sign(key)), 'INFRA_ERR_TOKEN_INVALID');
  });

  it('signing a bad role is INFRA_ERR_BAD_ROLE', async () => {
    await expectRejects(issuer.sign('u1', 'root' as Role, 60), 'INFRA_ERR_BAD_ROLE');
    await expectRejects(issuer.sign('u1', '' as Role, 60), 'INFRA_ERR_BAD_ROLE');
  });

  it.each(['', 'has space', 'a/b', 'x'.repeat(129)])('signing a bad user id %j is INFRA_ERR_BAD_ARGUMENT', async (sub) => {
    await expectRejects(issuer.sign(sub, 'user', 60), 'INFRA_ERR_BAD_ARGUMENT');
  });
});

describe('isRole', () => {
  it('knows the five roles and nothing else', () => {
    expect(roles).toEqual(['admin', 'service', 'user', 'rider', 'merchant']);
    for (const r of roles) expect(isRole(r)).toBe(true);
    for (const r of ['root', 'Admin', '', 'toString']) expect(isRole(r)).toBe(false);
  });
});

describe('parseDuration', () => {
  it.each([
    ['45s', 45],
    ['15m', 900],
    ['1h', 3600],
    ['12h', 43200],
    ['30d', 2592000],
    [' 2m ', 120],
  ])('%j is %i seconds', (text, seconds) => {
    expect(parseDuration(text)).toBe(seconds);
  });

  // 0s would mint a token that is already expired
  it.each(['', '15', 'm', '1.5h', '-1h', '1w', '1H', '1 h', '1h30m', 'abc', '0s', '0d'])('%j is INFRA_ERR_BAD_ARGUMENT', (text) => {
    expectThrows(() => parseDuration(text), 'INFRA_ERR_BAD_ARGUMENT');
  });
});
