import { createServer, type Server as NetServer } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { listenOn, type Endpoint, type Health, type RunningService, type ServiceContext, type TokenIssuer, type UpgradeRouter } from '@infra/core';
import { makeAuthenticate, claimsOf } from './auth/authenticate.js';
import { mayPublish, maySubscribe } from './auth/acl.js';

export const MQTT_WS_PATH = '/mqtt';

export interface BrokerOptions {
  issuer: TokenIssuer;
  /** the gateway's WebSocket mount points; when given (and mqtt.websocket is on) MQTT over WebSocket is served at /mqtt */
  upgrades?: UpgradeRouter;
}

export interface RunningBroker extends RunningService {
  readonly aedes: Aedes;
}

/** Starts aedes on mqtt.port (TCP) and, when a gateway is present, on ws://…/mqtt. Every connection is authenticated and every topic authorised. */
export async function startBroker(ctx: ServiceContext, opts: BrokerOptions): Promise<RunningBroker> {
  const log = ctx.logger.child({ service: 'broker' });
  const aedes = await Aedes.createBroker({
    id: `infra-${ctx.config.name}`,
    authenticate: makeAuthenticate(opts.issuer, log),
    authorizePublish(client, packet, done) {
      if (client === null) return done(null); // the broker's own publishes (will, $SYS)
      const user = claimsOf(client);
      if (user && mayPublish(user, packet.topic)) return done(null);
      log.info({ clientId: client.id, topic: packet.topic }, 'publish refused');
      done(new Error('publish not authorised'));
    },
    authorizeSubscribe(client, sub, done) {
      const user = claimsOf(client);
      if (user && maySubscribe(user, sub.topic)) return done(null, sub);
      log.info({ clientId: client.id, topic: sub.topic }, 'subscribe refused');
      done(null, null); // SUBACK 0x80 for this filter; the connection stays up
    },
  });
  aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));

  const tcp: NetServer = createServer((socket) => aedes.handle(socket));
  let port: number;
  try {
    port = await listenOn(tcp, ctx.config.mqtt.port, ctx.config.http.host, 'mqtt.port');
  } catch (err) {
    await new Promise<void>((r) => aedes.close(() => r()));
    throw err;
  }

  let wss: WebSocketServer | undefined;
  let unmount = (): void => undefined;
  if (opts.upgrades && ctx.config.mqtt.websocket) {
    const server = new WebSocketServer({ noServer: true, maxPayload: ctx.config.mqtt.maxPacketBytes });
    wss = server;
    const remove = opts.upgrades.mount(MQTT_WS_PATH, (req, socket, head) => {
      server.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        aedes.handle(stream, req);
      });
    });
    unmount = () => void remove();
  }

  const host = ctx.config.http.host.includes(':') ? `[${ctx.config.http.host}]` : ctx.config.http.host;
  const endpoints: Endpoint[] = [{ name: 'mqtt', url: `mqtt://${host}:${port}`, port, configKey: 'mqtt.port' }];
  if (wss && opts.upgrades) {
    const wsUrl = `${opts.upgrades.baseUrl.replace(/^http/, 'ws')}${MQTT_WS_PATH}`;
    endpoints.push({ name: 'mqtt-ws', url: wsUrl, port: Number(new URL(wsUrl).port), configKey: 'http.port' });
  }
  log.info({ port, websocket: Boolean(wss) }, 'broker listening');

  return {
    name: 'broker',
    aedes,
    ready: Promise.resolve(),
    endpoints,
    async health(): Promise<Health> {
      return aedes.closed ? { ok: false, detail: 'broker closed' } : { ok: true, clients: aedes.connectedClients };
    },
    async close() {
      unmount();
      const tcpClosed = new Promise<void>((r) => tcp.close(() => r()));
      for (const ws of wss?.clients ?? []) ws.terminate();
      wss?.close();
      await new Promise<void>((r) => aedes.close(() => r()));
      await tcpClosed;
    },
  };
}
