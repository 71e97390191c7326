import { Registry, collectDefaultMetrics, Gauge, Counter } from 'prom-client';
import type { FastifyInstance } from 'fastify';
import type { Health } from '@infra/core';

/** One registry per gateway (not prom-client's global one), so several stacks can share a process in tests. */
export function installMetrics(app: FastifyInstance, healthOf: () => Promise<Record<string, Health>>): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'infra_' });
  new Gauge({
    name: 'infra_service_up',
    help: '1 when the pillar answers its health check',
    labelNames: ['service'],
    registers: [registry],
    async collect() {
      for (const [service, h] of Object.entries(await healthOf())) this.set({ service }, h.ok ? 1 : 0);
    },
  });
  const requests = new Counter({ name: 'infra_http_requests_total', help: 'HTTP requests by route and status', labelNames: ['method', 'route', 'status'], registers: [registry] });
  app.addHook('onResponse', async (request, reply) => {
    requests.inc({ method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) });
  });
  return registry;
}
