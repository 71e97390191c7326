import { join } from 'node:path';
import { sql } from 'kysely';
import { listenOn, migrateModules, openSqlite, type Health, type ModuleMigrations, type RunningService, type ServiceContext, type TokenIssuer, type Endpoint, type UpgradeHandler, type UpgradeRouter } from '@infra/core';
import { buildGateway, type RoutePlugin } from './gateway/app.js';
import { AuthService, authRoutes } from './auth/index.js';

export type { RoutePlugin } from './gateway/app.js';
export { problemFrom, toProblem } from './gateway/problem.js';

/** The fulfillment modules' migrations; each module adds its own as it lands. */
const fulfillmentMigrations: ModuleMigrations[] = [];

export interface ServerOptions {
  issuer: TokenIssuer;
  version: string;
  /** health of every enabled pillar (this one included), for /ready and /metrics */
  healthOf: () => Promise<Record<string, Health>>;
  /** route plugins of the other pillars, handed over by the composition root */
  plugins?: RoutePlugin[];
}

export interface RunningServer extends RunningService {
  /** WebSocket mount points on the gateway's port (the broker mounts /mqtt) */
  readonly upgrades: UpgradeRouter;
}

/** Starts the HTTP gateway and the fulfillment database. Resolves once it listens. */
export async function startServer(ctx: ServiceContext, opts: ServerOptions): Promise<RunningServer> {
  const log = ctx.logger.child({ service: 'server' });
  const database = openSqlite<unknown>(join(ctx.dataDir, 'fulfillment.db'));
  try {
    const applied = await migrateModules(database.db, fulfillmentMigrations);
    if (applied.length) log.info({ applied }, 'migrations applied');
    const auth = new AuthService(opts.issuer, ctx.config.auth.tokenTtl);
    const app = await buildGateway({
      config: ctx.config,
      logger: log,
      issuer: opts.issuer,
      version: opts.version,
      healthOf: opts.healthOf,
      plugins: [{ name: 'auth', plugin: authRoutes(auth) }, ...(opts.plugins ?? [])],
    });
    await app.ready();
    const port = await listenOn(app.server, ctx.config.http.port, ctx.config.http.host, 'http.port').catch(async (err: unknown) => {
      await app.close();
      throw err;
    });
    const host = ctx.config.http.host.includes(':') ? `[${ctx.config.http.host}]` : ctx.config.http.host;
    const base = ctx.config.http.publicUrl || `http://${host}:${port}`;
    const endpoints: Endpoint[] = [
      { name: 'api', url: `${base}/api/v1`, port, configKey: 'http.port' },
      { name: 'docs', url: `${base}/docs`, port, configKey: 'http.port' },
    ];
    log.info({ port }, 'gateway listening');

    // One 'upgrade' listener for the port: a mounted path gets the socket, any other path a 404.
    const mounts = new Map<string, UpgradeHandler>();
    app.server.on('upgrade', (req, socket, head) => {
      const handler = mounts.get((req.url ?? '').split('?')[0] ?? '');
      if (handler) return handler(req, socket, head);
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    const upgrades: UpgradeRouter = {
      baseUrl: base,
      mount(path, handler) {
        mounts.set(path, handler);
        return () => mounts.delete(path);
      },
    };
    return {
      name: 'server',
      ready: Promise.resolve(),
      endpoints,
      upgrades,
      async health(): Promise<Health> {
        try {
          await sql`select 1`.execute(database.db);
          return { ok: true };
        } catch (err) {
          return { ok: false, detail: `fulfillment.db: ${(err as Error).message}` };
        }
      },
      async close() {
        await app.close();
        await database.close();
      },
    };
  } catch (err) {
    await database.close();
    throw err;
  }
}
