import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { InfraError } from '../errors.js';

import { isRole, type Role } from './roles.js';

export { roles, isRole, type Role } from './roles.js';

export interface TokenClaims {
  /** user id; MQTT username must equal it */
  sub: string;
  role: Role;
  /** expiry, epoch seconds */
  exp: number;
  /** role merchant only: the merchant whose riders and jobs the token may see and manage */
  merchant?: string;
}

const ID = /^[A-Za-z0-9_.:@-]{1,128}$/;

const ISSUER = 'infra';
const ALG = 'HS256';

/** `15m`, `12h`, `30d`, `45s` to seconds. */
export function parseDuration(s: string): number {
  const m = /^([0-9]+)([smhd])$/.exec(s.trim());
  if (!m || Number(m[1]) === 0) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `bad duration "${s}": expected a positive number and s, m, h or d (e.g. 15m)`);
  const unit = { s: 1, m: 60, h: 3600, d: 86400 }[m[2] as 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

/** Signs and verifies the stack's JWTs (HS256 with the secret from the stack's .env). */
export class TokenIssuer {
  private readonly key: Uint8Array;

  constructor(secret: string) {
    this.key = new TextEncoder().encode(secret);
  }

  /** `claims.merchant` is required with role merchant and refused with any other role. */
  async sign(sub: string, role: Role, ttlSeconds: number, now: number = Date.now(), claims: { merchant?: string } = {}): Promise<string> {
    if (!isRole(role)) throw new InfraError('INFRA_ERR_BAD_ROLE', `unknown role "${String(role)}"`);
    if (!ID.test(sub)) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `bad user id "${sub}": use letters, digits and _ . : @ - (at most 128)`);
    if (role === 'merchant' && !(claims.merchant && ID.test(claims.merchant))) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', 'a merchant token needs the merchant id (letters, digits and _ . : @ -, at most 128)');
    if (role !== 'merchant' && claims.merchant !== undefined) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `only a merchant token carries a merchant id (role ${role} does not)`);
    const iat = Math.floor(now / 1000);
    return new SignJWT(role === 'merchant' ? { role, merchant: claims.merchant } : { role })
      .setProtectedHeader({ alg: ALG, typ: 'JWT' })
      .setSubject(sub)
      .setIssuer(ISSUER)
      .setIssuedAt(iat)
      .setExpirationTime(iat + ttlSeconds)
      .sign(this.key);
  }

  /** Verifies signature, issuer and expiry; throws INFRA_ERR_TOKEN_INVALID with the reason. */
  async verify(token: string): Promise<TokenClaims> {
    try {
      const { payload } = await jwtVerify(token, this.key, { issuer: ISSUER, algorithms: [ALG] });
      const role = payload['role'];
      if (typeof payload.sub !== 'string' || typeof role !== 'string' || !isRole(role) || typeof payload.exp !== 'number') {
        throw new InfraError('INFRA_ERR_TOKEN_INVALID', 'token lacks sub, role or exp');
      }
      if (role !== 'merchant') return { sub: payload.sub, role, exp: payload.exp };
      const merchant = payload['merchant'];
      if (typeof merchant !== 'string' || !ID.test(merchant)) throw new InfraError('INFRA_ERR_TOKEN_INVALID', 'merchant token lacks its merchant id');
      return { sub: payload.sub, role, exp: payload.exp, merchant };
    } catch (err) {
      if (err instanceof InfraError) throw err;
      const reason = err instanceof joseErrors.JWTExpired ? 'token expired' : err instanceof joseErrors.JWSSignatureVerificationFailed ? 'bad signature' : 'malformed token';
      throw new InfraError('INFRA_ERR_TOKEN_INVALID', reason);
    }
  }
}
