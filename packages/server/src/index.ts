import { sql } from 'kysely';
import { GroupCommit, listenOn, urlHost, type moduleNames, type Health, type RunningService, type ServiceContext, type TokenIssuer, type Endpoint, type UpgradeHandler, type UpgradeRouter } from '@infra/core';
import { buildGateway, type RoutePlugin } from './gateway/app.js';
import { AuthService, authRoutes } from './auth/index.js';
import { defaultOrderFlowYaml, FlowEngine, loadFlows, parseFlow, startTimeoutSweeper } from './flows/index.js';
import { OutboxRelay } from './outbox/index.js';
import { ExceptionService, exceptionRoutes, type ExceptionDb } from './exceptions/index.js';
import { WaveService, WmsService, wmsRoutes } from './wms/index.js';
import { OrderService, orderRoutes } from './orders/index.js';
import { Geofences, RiderService, riderRoutes } from './riders/index.js';
import { DispatchService, dispatchRoutes, listenForOfferReplies } from './dispatch/index.js';
import { DeliveryService, deliveryRoutes, defaultDeliveryFlowYaml } from './delivery/index.js';
import { openFulfillmentDb } from './fulfillment-db.js';
import { fulfillmentRoutes } from './fulfillment-routes.js';
import { planRoutes } from './dispatch/plan-routes.js';
import { RoutePlanner } from './routing/plan.js';

export type { RoutePlugin } from './gateway/app.js';
export { problemFrom, toProblem } from './gateway/problem.js';

export interface ServerOptions {
  issuer: TokenIssuer;
  version: string;
  /** health of every enabled pillar (this one included), for /ready and /metrics */
  healthOf: () => Promise<Record<string, Health>>;
  /** route plugins of the other pillars, handed over by the composition root */
  plugins?: RoutePlugin[];
  /** the stack directory (where infra.yaml lives): its flows/*.yaml are loaded and validated at start */
  stackDir?: string;
  /** how often flow timeouts are swept (ms); default fulfillment.timeoutSweepMs */
  flowTimerMs?: number;
}

export interface RunningServer extends RunningService {
  /** WebSocket mount points on the gateway's port (the broker mounts /mqtt) */
  readonly upgrades: UpgradeRouter;
}

/** Starts the HTTP gateway and the fulfillment database. Resolves once it listens. */
export async function startServer(ctx: ServiceContext, opts: ServerOptions): Promise<RunningServer> {
  const log = ctx.logger.child({ service: 'server' });
  // A flow file with a problem refuses the start, naming file:line, before anything opens.
  const flows = opts.stackDir ? loadFlows(opts.stackDir) : new Map();
  if (!flows.has('order')) flows.set('order', parseFlow(defaultOrderFlowYaml, '<built-in order flow>'));
  if (!flows.has('delivery')) flows.set('delivery', parseFlow(defaultDeliveryFlowYaml, '<built-in delivery flow>'));
  const { database, applied } = await openFulfillmentDb(ctx.dataDir);
  let relay: OutboxRelay | undefined;
  let riders: RiderService | undefined;
  let dispatch: DispatchService | undefined;
  let deliveries: DeliveryService | undefined;
  let stopReplies: (() => Promise<void>) | undefined;
  let sweeper: { stop(): Promise<void> } | undefined;
  let geofences: Geofences | undefined;
  /** stops what started, in dependency order; the same for a failed start and for close() */
  const stopModules = async (): Promise<void> => {
    await stopReplies?.().catch(() => undefined);
    await dispatch?.stop();
    deliveries?.close();
    await sweeper?.stop();
    await relay?.close();
    await riders?.close();
    geofences?.close();
    await database.close();
  };
  try {
    if (applied.length) log.info({ applied }, 'migrations applied');
    const auth = new AuthService(opts.issuer, ctx.config.auth.tokenTtl);
    const db = database.db as unknown as import('kysely').Kysely<any>;
    // one group commit for the database: order writes, and the relay's cursor, share commits when they arrive together
    const writes = new GroupCommit(db);
    relay = new OutboxRelay(db, ctx.bus, log, writes);
    const kick = (): void => relay?.kick();
    const engine = new FlowEngine(flows);
    const exceptions = new ExceptionService(db);
    const wms = new WmsService(db, exceptions, kick);
    const orders = new OrderService(db, engine, wms, exceptions, kick, ctx.config.fulfillment.currency, Date.now, writes);
    // riders' profiles and live location (fixes from fleet/+/loc on the bus); geofences raise enter/exit from those fixes
    riders = new RiderService(db, ctx.config.fleet, log, Date.now, { historyFile: database.file });
    await riders.start(ctx.bus);
    geofences = new Geofences(riders);
    // dispatch assigns pooled jobs to riders by zone strategy; each assignment starts a delivery in the same transaction
    dispatch = new DispatchService(db, riders, ctx.config.dispatch, kick, async (orderId) => (await orders.get(orderId, { id: 'dispatch', role: 'admin' }).catch(() => undefined))?.customer, log);
    deliveries = new DeliveryService(db, engine, exceptions, dispatch, geofences, riders, ctx.config.dispatch, kick, log);
    // a delivered job delivers its order too, in the same transaction, when the order's flow is at that step
    deliveries.whenDelivered((trx, orderId, reason) => orders.deliveredByCourier(trx, orderId, reason));
    dispatch.onAssigned(deliveries.hook);
    const retryDelivery = deliveries;
    exceptions.registerAction('delivery', 'retry', async (e, actor) => retryDelivery.retry(e.entity.id, actor));
    await deliveries.resume();
    // `modules` in infra.yaml picks the domain APIs this stack serves ([] = all); services behind them always exist,
    // because modules call each other (orders reserve through the WMS, deliveries raise exceptions).
    const serves = (m: (typeof moduleNames)[number]): boolean => ctx.config.modules.length === 0 || ctx.config.modules.includes(m);
    if (serves('dispatch')) {
      if (ctx.bus) stopReplies = await listenForOfferReplies(ctx.bus, dispatch, log);
      dispatch.start();
    }
    // An order's exception resolves with `cancel` (the flow's cancel event, as the resolver) or `refund` (what was captured).
    exceptions.registerAction('order', 'cancel', async (e, actor) => void (await orders.fire(e.entity.id, { event: 'cancel', reason: `exception ${e.id} (${e.type})` }, actor)));
    exceptions.registerAction('order', 'refund', async (e, actor) => void (await orders.refund(e.entity.id, `exception ${e.id} (${e.type})`, actor)));
    exceptions.registerAction('order', 'reship', async (e, actor) => void (await orders.reship(e.entity.id, `exception ${e.id} (${e.type})`, actor)));
    sweeper = startTimeoutSweeper(db, engine, async (trx, due, now) => {
      await exceptions.raise({ type: due.raise, severity: 'medium', entityType: due.flow, entityId: due.entityId, detail: `${due.flow} ${due.entityId} stayed in ${due.state} past its timeout` }, trx as ExceptionDb);
      if (due.flow === 'order') await orders.timeoutEvent(trx, due.entityId, due.state, due.raise, now);
    }, { intervalMs: opts.flowTimerMs ?? ctx.config.fulfillment.timeoutSweepMs, log, onCommit: kick });
    relay.kick(); // deliver what a previous run committed but did not publish
    const app = await buildGateway({
      config: ctx.config,
      logger: log,
      issuer: opts.issuer,
      version: opts.version,
      healthOf: opts.healthOf,
      tls: ctx.tls,
      plugins: [
        { name: 'auth', plugin: authRoutes(auth) },
        { name: 'fulfillment', plugin: fulfillmentRoutes(ctx.config.fulfillment.rateLimit, [
          ...(serves('orders') ? [orderRoutes(orders)] : []),
          ...(serves('wms') ? [wmsRoutes(wms, new WaveService(db))] : []),
          ...(serves('exceptions') ? [exceptionRoutes(exceptions)] : []),
          ...(serves('dispatch') ? [riderRoutes(riders), dispatchRoutes(dispatch, riders), planRoutes(new RoutePlanner(ctx.config.routing))] : []),
          ...(serves('delivery') ? [deliveryRoutes(deliveries)] : []),
        ]) },
        ...(opts.plugins ?? []),
      ],
    });
    await app.ready();
    const port = await listenOn(app.server, ctx.config.http.port, ctx.config.http.host, 'http.port').catch(async (err: unknown) => {
      await app.close();
      throw err;
    });
    const host = urlHost(ctx.config.http.host);
    const base = ctx.config.http.publicUrl || `${ctx.tls ? 'https' : 'http'}://${host}:${port}`;
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
        await stopModules();
      },
    };
  } catch (err) {
    await stopModules();
    throw err;
  }
}
