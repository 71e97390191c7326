import type { FastifyPluginAsync } from 'fastify';
import rateLimit from '@fastify/rate-limit';
import { InfraError } from '@infra/core';

/**
 * The fulfillment modules' routes under one per-token rate limit (fulfillment.rateLimit per minute).
 * The key is the bearer token itself (the limiter runs before the token is verified; a forged token
 * only spends its own bucket), or the client IP without one.
 */
export function fulfillmentRoutes(perMinute: number, modules: FastifyPluginAsync[]): FastifyPluginAsync {
  return async (app) => {
    if (perMinute > 0) {
      await app.register(rateLimit, {
        global: true,
        max: perMinute,
        timeWindow: 60_000,
        keyGenerator: (req) => req.headers.authorization ?? req.ip,
        errorResponseBuilder: (_req, ctx) => new InfraError('INFRA_ERR_RATE_LIMITED', `more than ${ctx.max} requests per minute with this token; retry in ${Math.ceil(ctx.ttl / 1000)} s`),
      });
    }
    for (const m of modules) await app.register(m);
  };
}
