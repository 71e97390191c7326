import { parseDuration, type Role, type TokenClaims, type TokenIssuer } from '@infra/core';
import type { TokenReply, WhoAmIReply } from './schema.js';

/** Token minting for backends and dashboards (the HTTP twin of `infra token`). */
export class AuthService {
  constructor(
    private readonly issuer: TokenIssuer,
    private readonly defaultTtl: string,
    private readonly now: () => number = Date.now,
  ) {}

  async mint(user: string, role: Role, ttl?: string, merchant?: string): Promise<TokenReply> {
    const seconds = parseDuration(ttl ?? this.defaultTtl);
    const now = this.now();
    const token = await this.issuer.sign(user, role, seconds, now, merchant !== undefined ? { merchant } : {});
    return { token, user, role, ...(merchant !== undefined ? { merchant } : {}), expiresAt: new Date(Math.floor(now / 1000) * 1000 + seconds * 1000).toISOString() };
  }

  whoami(claims: TokenClaims): WhoAmIReply {
    return { user: claims.sub, role: claims.role, ...(claims.merchant ? { merchant: claims.merchant } : {}), expiresAt: new Date(claims.exp * 1000).toISOString() };
  }
}
