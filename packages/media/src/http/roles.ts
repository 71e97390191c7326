import type { Role } from '@infra/core';

// The gateway (packages/server) enforces these per route; declared here too because media does not import server.
declare module 'fastify' {
  interface FastifyContextConfig {
    public?: boolean;
    roles?: readonly Role[];
  }
}

export const OPERATORS: readonly Role[] = ['admin', 'service'];
export const VIEWERS: readonly Role[] = ['admin', 'service', 'user'];
