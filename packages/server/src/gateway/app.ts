import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { Type } from '@sinclair/typebox';
import { Ajv } from 'ajv';
import formatsModule, { type FormatsPlugin } from 'ajv-formats';
import type { Health, InfraConfig, Logger, TokenIssuer } from '@infra/core';
import { installAuth } from './auth.js';
import { installMetrics } from './metrics.js';
import { problemFrom, sendProblem, toProblem } from './problem.js';

/** A pillar's HTTP surface: a fastify plugin mounted under /api/v1 (or its own prefix). */
export interface RoutePlugin {
  name: string;
  plugin: FastifyPluginAsync;
  prefix?: string;
}

export interface GatewayOptions {
  config: InfraConfig;
  logger: Logger;
  issuer: TokenIssuer;
  version: string;
  /** health of every enabled pillar, for /ready and /metrics */
  healthOf: () => Promise<Record<string, Health>>;
  plugins: RoutePlugin[];
  /** PEM certificate and key: serve HTTPS */
  tls?: { cert: string; key: string } | undefined;
}

const HealthReply = Type.Object({ status: Type.Literal('ok'), uptimeSeconds: Type.Number() });
const ReadyReply = Type.Object({
  ready: Type.Boolean(),
  services: Type.Record(Type.String(), Type.Object({ ok: Type.Boolean(), detail: Type.Optional(Type.String()) }, { additionalProperties: true })),
});

export async function buildGateway(opts: GatewayOptions): Promise<FastifyInstance> {
  const app = Fastify({
    ...(opts.tls ? { https: { cert: opts.tls.cert, key: opts.tls.key } } : {}),
    loggerInstance: opts.logger,
    bodyLimit: opts.config.http.bodyLimit,
    return503OnClosing: true,
    // Validation lists every bad field and refuses unknown ones instead of dropping them.
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
    genReqId: () => `req_${Math.random().toString(36).slice(2, 12)}`,
  }) as unknown as FastifyInstance;

  // Query strings and headers arrive as text and are coerced to the schema's types; a JSON body is not:
  // "qty": "2" is a wrong type and gets a 400, not a silent conversion.
  const addFormats = ((formatsModule as unknown as { default?: FormatsPlugin }).default ?? formatsModule) as FormatsPlugin;
  const ajvOptions = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false } as const;
  const strictAjv = new Ajv({ ...ajvOptions, coerceTypes: false });
  const coercingAjv = new Ajv({ ...ajvOptions, coerceTypes: 'array' });
  addFormats(strictAjv);
  addFormats(coercingAjv);
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema));

  app.setErrorHandler(async (err, request, reply) => {
    const problem = toProblem(err as Error, request);
    if (problem.status >= 500) request.log.error({ err }, 'request failed');
    // An oversize body is refused from its Content-Length before it is read: keep reading (and dropping) what
    // arrives, which makes a reset less likely for a client still writing; the connection closes after the answer.
    if (problem.status === 413) {
      request.raw.resume();
      void reply.header('connection', 'close');
    }
    return sendProblem(reply, problem);
  });
  app.setNotFoundHandler(async (request, reply) => sendProblem(reply, problemFrom('INFRA_ERR_NOT_FOUND', `no route ${request.method} ${request.url}`, { instance: request.url })));

  // Documentation routes are public: the contract is not a secret, the data behind it is.
  app.addHook('onRoute', (route) => {
    if (route.url.startsWith('/docs')) route.config = { ...(route.config ?? {}), public: true };
  });
  installAuth(app, opts.issuer);
  const registry = installMetrics(app, opts.healthOf);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: `infra — ${opts.config.name}`, version: opts.version, description: 'HTTP API of an infra stack. Every /api/v1 route needs `Authorization: Bearer <token>` (mint one with `infra token`). Errors are application/problem+json with a stable `type`.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  app.get('/health', { config: { public: true }, schema: { tags: ['ops'], summary: 'Liveness: the process answers', security: [], response: { 200: HealthReply } } }, async () => ({
    status: 'ok' as const,
    uptimeSeconds: Math.round(process.uptime()),
  }));

  app.get('/ready', { config: { public: true }, schema: { tags: ['ops'], summary: 'Readiness: 200 only when every enabled pillar is ready, else 503 naming the ones that are not', security: [], response: { 200: ReadyReply, 503: ReadyReply } } }, async (_request, reply) => {
    const services = await opts.healthOf();
    const ready = Object.values(services).every((h) => h.ok);
    return reply.code(ready ? 200 : 503).send({ ready, services });
  });

  app.get('/metrics', { config: { roles: ['admin', 'service'] }, schema: { tags: ['ops'], summary: 'Prometheus metrics (admin or service token)', produces: ['text/plain'] } }, async (_request, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics());
  });

  for (const p of opts.plugins) await app.register(p.plugin, { prefix: p.prefix ?? '/api/v1' });
  return app;
}
