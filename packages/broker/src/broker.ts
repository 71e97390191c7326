import { createServer, type Server as NetServer } from 'node:net';
import { Aedes } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import { listenOn, type Endpoint, type Health, type RunningService, type ServiceContext, type TokenIssuer, type UpgradeRouter, type EventBus } from '@infra/core';
import { makeAuthenticate, claimsOf } from './auth/authenticate.js';
import { mayPublish, maySubscribe } from './auth/acl.js';

export const MQTT_WS_PATH = '/mqtt';

export interface BrokerOptions {
  issuer: TokenIssuer;
}

export interface RunningBroker extends RunningService {
  readonly aedes: Aedes;
  /** the in-process MQTT bus other pillars publish their events through */
  readonly bus: EventBus;
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
  const host = ctx.config.http.host.includes(':') ? `[${ctx.config.http.host}]` : ctx.config.http.host;
  const endpoints: Endpoint[] = [{ name: 'mqtt', url: `mqtt://${host}:${port}`, port, configKey: 'mqtt.port' }];
  log.info({ port }, 'broker listening');

  const mountWebSocket = (router: UpgradeRouter): void => {
    if (!ctx.config.mqtt.websocket || wss) return;
    const server = new WebSocketServer({ noServer: true, maxPayload: ctx.config.mqtt.maxPacketBytes });
    wss = server;
    const remove = router.mount(MQTT_WS_PATH, (req, socket, head) => {
      server.handleUpgrade(req, socket, head, (ws) => {
        const stream = createWebSocketStream(ws);
        stream.on('error', () => stream.destroy());
        aedes.handle(stream, req);
      });
    });
    unmount = () => void remove();
    const wsUrl = `${router.baseUrl.replace(/^http/, 'ws')}${MQTT_WS_PATH}`;
    endpoints.push({ name: 'mqtt-ws', url: wsUrl, port: Number(new URL(wsUrl).port), configKey: 'http.port' });
    log.info({ url: wsUrl }, 'mqtt over websocket mounted');
  };

  const bus: EventBus = {
    publish: (topic, payload, o = {}) =>
      new Promise((resolve, reject) => {
        aedes.publish({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: o.qos ?? 0, retain: o.retain ?? false, dup: false }, (err) => (err ? reject(err) : resolve()));
      }),
    subscribe: (filter, handler) =>
      new Promise((resolve) => {
        const deliver = (packet: { topic: string; payload: Buffer | string }, cb: () => void): void => {
          handler({ topic: packet.topic, payload: Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload) });
          cb();
        };
        aedes.subscribe(filter, deliver, () =>
          resolve(() => new Promise<void>((r) => aedes.unsubscribe(filter, deliver, () => r()))),
        );
      }),
  };

  return {
    name: 'broker',
    aedes,
    bus,
    ready: Promise.resolve(),
    endpoints,
    mountWebSocket,
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
