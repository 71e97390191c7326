import type { FastifyInstance, FastifyRequest } from 'fastify';
import { InfraError, type Role, type TokenClaims, type TokenIssuer } from '@infra/core';

declare module 'fastify' {
  interface FastifyRequest {
    /** the verified token of the caller; absent only on public routes */
    user?: TokenClaims;
  }
  interface FastifyContextConfig {
    /** no token needed (health, readiness, docs) */
    public?: boolean;
    /** roles allowed; default: any authenticated role */
    roles?: readonly Role[];
  }
}

function bearer(request: FastifyRequest): string | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  const m = /^Bearer\s+(\S+)$/i.exec(h);
  return m?.[1];
}

/**
 * Every route is authorised unless it says `config: { public: true }`: a missing or bad token is 401,
 * a token whose role the route does not allow is 403.
 */
export function installAuth(app: FastifyInstance, issuer: TokenIssuer): void {
  // Verified tokens, so a client sending the same token again skips the HMAC (checked: expiry). Bounded.
  const verified = new Map<string, TokenClaims>();
  const verify = async (token: string): Promise<TokenClaims> => {
    const hit = verified.get(token);
    if (hit && hit.exp * 1000 > Date.now()) return hit;
    const claims = await issuer.verify(token);
    if (verified.size >= 10_000) verified.clear();
    verified.set(token, claims);
    return claims;
  };
  app.decorateRequest('user', undefined);
  app.addHook('onRequest', async (request) => {
    const config = request.routeOptions.config;
    if (config.public) return;
    const token = bearer(request);
    if (!token) throw new InfraError('INFRA_ERR_UNAUTHORIZED', 'missing bearer token');
    request.user = await verify(token);
    const allowed = config.roles;
    if (allowed && !allowed.includes(request.user.role)) {
      throw new InfraError('INFRA_ERR_FORBIDDEN', `role ${request.user.role} may not call ${request.method} ${request.routeOptions.url ?? request.url}`);
    }
  });
}
