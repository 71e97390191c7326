import { createServer, type Server as NetServer, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer } from 'node:tls';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';
// aedes (the value) is imported when the broker starts, after guard/quiet-debug.ts: an ESM import of it would load
// mqtt-packet (CommonJS) while this module graph links, before any of its code runs
import type { Aedes, AedesPublishPacket, Client } from 'aedes';
import type { Kysely } from 'kysely';
import { WebSocketServer, createWebSocketStream } from 'ws';
import {
  listenOn, migrateModules, openSqlite, parseDuration, topics, urlHost,
  type Endpoint, type EventBus, type Health, type RunningService, type ServiceContext, type TokenIssuer, type UpgradeRouter,
} from '@infra/core';
import type { ImEvent, PresenceState } from '@infra/core/topics';
import { makeAuthenticate, claimsOf, forgetClient } from './auth/authenticate.js';
import { mayPublish, maySubscribeAsMember, needsGrantToReceive } from './auth/acl.js';
import { SessionOwners, sessionMigrations, type SessionTables } from './auth/sessions.js';
import { GrantTable, grantMigrations, parseGrant, type GrantTables } from './grants/index.js';
import { KeyDirectory, keyMigrations, type KeyTables } from './keys/index.js';
import { openBrokerPersistence } from './persistence.js';
import { BodyCipher, ImService, ImStore, imMigrations, imRoutes, imSendHandler, imSyncHandler, type ImTables } from './im/index.js';
import { ChannelAudience } from './im/audience.js';
import { filesMigrations, startFiles, type RunningFiles } from './files/index.js';
import { IdleWatch, MAX_KEEPALIVE_S, PresenceTracker, stalePresence } from './presence/index.js';
import { limitPacketSize, parserOf } from './guard/packet-size.js';
import { batchWrites } from './guard/write-batch.js';
import { OncePerClient } from './guard/dedupe.js';
import { TelemetryGate, useRingQueues } from './telemetry/index.js';
import { quietMqttPacketDebug } from './guard/quiet-debug.js';

export const MQTT_WS_PATH = '/mqtt';

export interface BrokerOptions {
  issuer: TokenIssuer;
}

export interface RunningBroker extends RunningService {
  readonly aedes: Aedes;
  /** the in-process MQTT bus other pillars publish their events through */
  readonly bus: EventBus;
  readonly im: ImService;
  /** uploads, derivatives, stickers (packages/broker/src/files) */
  readonly files: RunningFiles;
}

const IM_SEND = topics.imSend;
const IM_SYNC = topics.imSync;
const CHANNEL_PREFIX = 'im/c/';
/**
 * Publishes aedes delivers at once (its mqemitter's concurrency; aedes' default is 100). One IM send batch (up to 256
 * sends) publishes an ack and a delivery per member per send, on top of the sends themselves passing through: at 100,
 * most of a batch waited in the queue and left one publish per completed one, each in a loop turn of its own, so no
 * connection ever had two packets to send in one write (guard/write-batch.ts). bench:im, broker CPU per delivery:
 * 100-member group 49 → 22 µs (write calls per delivery 1.00 → 0.11), 1:1 86 → 80 µs (medians, loaded machine).
 * Slots held by a client that stopped reading are freed by aedes' drainTimeout (60 s) as before; more slots only mean
 * more room before that matters.
 */
const MQ_CONCURRENCY = 1000;

/**
 * Starts aedes on mqtt.port (TCP) and, when a gateway is present, on ws://…/mqtt, with durable state under
 * <data.dir>/broker and the IM domain in <data.dir>/im.db. Every connection is authenticated and every topic authorised.
 */
export async function startBroker(ctx: ServiceContext, opts: BrokerOptions): Promise<RunningBroker> {
  const log = ctx.logger.child({ service: 'broker' });
  // mqtt-packet's per-packet debug() calls allocate nothing once quieted; it must happen before aedes loads mqtt-packet
  if (!quietMqttPacketDebug()) log.debug('mqtt-packet was loaded before the broker: its debug() calls keep allocating');
  const { Aedes: AedesBroker } = await import('aedes');
  const cleanups: (() => Promise<void>)[] = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.splice(0).reverse()) await c().catch((err: Error) => log.error({ err: err.message }, 'broker cleanup failed'));
  };

  try {
    const database = openSqlite<ImTables>(join(ctx.dataDir, 'im.db'));
    cleanups.push(() => database.close());
    const applied = await migrateModules(database.db as never, [imMigrations, grantMigrations, keyMigrations, filesMigrations, sessionMigrations]);
    if (applied.length) log.info({ applied }, 'migrations applied');
    const cipher = ctx.secrets.dataKeys ? new BodyCipher(ctx.secrets.dataKeys) : undefined;
    if (!cipher) log.warn('no INFRA_DATA_KEYS: IM message bodies are stored in clear');
    const store = new ImStore(database.db, database.sqlite, cipher);
    // After a key rotation (or on a database written in clear) re-seal old bodies with the current key, in the background.
    let rekeying = true;
    const rekeyed = (async () => {
      let total = 0;
      for (let n = -1; rekeying && n !== 0; total += n) {
        n = await store.rekey(500);
        await new Promise((r) => setImmediate(r));
      }
      if (total > 0) log.info({ messages: total, key: cipher?.currentKeyId }, 'message bodies re-sealed with the current data key');
    })().catch((err: Error) => log.error({ err: err.message }, 're-sealing message bodies failed; old keys stay needed'));
    cleanups.push(async () => {
      rekeying = false;
      await rekeyed;
    });
    // uploads and stickers: their own tables in the same file; download rights follow IM membership
    const files = await startFiles(ctx, database.db, async (convId, userId) => (await store.member(convId, userId)) !== undefined, log);
    cleanups.push(() => files.close());
    const grants = await GrantTable.open(database.db as unknown as Kysely<GrantTables>); // its own table in the same file
    const keys = new KeyDirectory(database.db as unknown as Kysely<KeyTables>, (a, b) => store.shareConversation(a, b));
    const grantPurge = setInterval(() => void grants.purge().catch((err: Error) => log.warn({ err: err.message }, 'grant purge failed')), 60 * 60 * 1000);
    grantPurge.unref();
    cleanups.push(async () => clearInterval(grantPurge));
    // im/send and im/sync are consumed here, never forwarded (authorizeForward below): no offline copies of them
    const durable = await openBrokerPersistence(ctx.dataDir, [IM_SEND, IM_SYNC]);
    let closingAedes: Aedes | undefined;
    cleanups.push(async () => {
      // aedes.close() calls back before every client's teardown (its session clean-up reads LevelDB) has run:
      // closing the store under them makes those reads fail (LEVEL_ITERATOR_NOT_OPEN). Let them finish first.
      const until = Date.now() + 1000;
      while (closingAedes && closingAedes.connectedClients > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 20));
      await durable.close();
    });

    // each publish once per client, however many of its subscriptions match, and none dropped for coming late (guard/dedupe.ts)
    const once = new OncePerClient();
    // Late-bound: the notifier and presence publish through aedes, created below.
    let aedesRef: Aedes | undefined;
    // broker publishes still in progress, counted (a promise per publish was measurable on the im/send path)
    let publishing = 0;
    const drainWaiters: (() => void)[] = [];
    const published = (): Promise<void> => (publishing === 0 ? Promise.resolve() : new Promise<void>((r) => drainWaiters.push(r)));
    const publish = (topic: string, payload: string | Buffer, retain = false): void => {
      const a = aedesRef;
      if (!a || a.closed) return;
      publishing++;
      a.publish({ cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: 1, retain, dup: false }, (err) => {
        if (err) log.warn({ topic, err: err.message }, 'broker publish failed');
        if (--publishing === 0) for (const r of drainWaiters.splice(0)) r();
      });
    };
    // an event given as a string is JSON already (the send path builds a message's and an ack's JSON once)
    const json = (event: ImEvent | string): string => (typeof event === 'string' ? event : JSON.stringify(event));
    // The answers to a device's own im/send and im/sync (ack, error, sync page) are published at QoS 1 like every IM
    // event (so they keep their place among the others), and written at QoS 0 to clean sessions (authorizeForward):
    // a clean session drops QoS 1 messages in flight with its connection anyway, so a PUBACK would buy nothing, and it
    // cost the broker a packet to read and in-flight state, and every device a packet to write. A device resends a
    // request it hears nothing back for (a resend is de-duplicated); persistent sessions still get them at QoS 1.
    const answers = new WeakSet<Buffer>();
    const toUser = (userId: string, event: ImEvent | string): void => {
      const payload = Buffer.from(json(event));
      answers.add(payload);
      publish(topics.imUser(userId), payload);
    };
    const audience = new ChannelAudience(store);
    const im = new ImService(store, ctx.config.im, {
      toUsers: (userIds, event, except) => {
        // one payload buffer for every recipient (aedes and mqtt-packet only read it)
        const payload = Buffer.from(json(event));
        for (const u of userIds) if (u !== except) publish(topics.imUser(u), payload);
      },
      toChannel: (convId, event) => publish(topics.imChannel(convId), json(event)),
      membershipChanged: (convId, userId, present) => audience.update(convId, userId, present),
    }, Date.now, files.references);
    const onSend = imSendHandler(im, toUser, log);
    const onSync = imSyncHandler(im, toUser, log);
    const presence = new PresenceTracker((userId: string, state: PresenceState) => publish(topics.presence(userId), JSON.stringify(state), true));
    // every device role (user, rider, merchant staff) has presence; backends do not
    const tracksPresence = (role: string): boolean => role !== 'service' && role !== 'admin';
    // devices that ping less often than im.heartbeat (or never) are closed after 1.5 × it of silence (presence/heartbeat.ts)
    const idle = new IdleWatch(Math.min(parseDuration(ctx.config.im.heartbeat), MAX_KEEPALIVE_S), (client) => {
      const c = client as Client;
      if (c.closed) return;
      log.info({ clientId: c.id, silentMs: idle.limitMs }, 'mqtt connection silent beyond 1.5 × im.heartbeat: closed');
      c.close();
    });
    const telemetry = new TelemetryGate(ctx.config.fleet, log);

    const aedes = await AedesBroker.createBroker({
      id: `infra-${ctx.config.name}`,
      concurrency: MQ_CONCURRENCY,
      persistence: durable.persistence,
      authenticate: makeAuthenticate(opts.issuer, log, new SessionOwners(database.db as unknown as Kysely<SessionTables>)),
      preConnect(client, packet, done) {
        idle.connecting(client, packet.keepalive ?? 0);
        done(null, true);
      },
      authorizePublish(client, packet, done) {
        if (client === null) return done(null); // the broker's own publishes (will, $SYS, IM deliveries)
        const user = claimsOf(client);
        if (user && mayPublish(user, packet.topic)) {
          if (packet.topic === IM_SEND) return onSend(user, client.id, packet, done);
          if (packet.topic === IM_SYNC) return onSync(user, client.id, packet, done);
          if (packet.topic.charCodeAt(0) === 102 /* f */) telemetry.inspect(client.id, packet); // fleet/{riderId}/loc fixes
          // a device's own presence publish may only say away/online; the broker publishes the full retained state instead
          if (tracksPresence(user.role) && packet.topic.startsWith('presence/')) {
            let away = false;
            try {
              away = (JSON.parse(packet.payload.toString()) as { status?: unknown }).status === 'away';
            } catch { /* anything else means online */ }
            packet.payload = Buffer.from(JSON.stringify(presence.setAway(user.sub, away)));
            packet.retain = true;
          }
          return done(null);
        }
        log.info({ clientId: client.id, topic: packet.topic }, 'publish refused');
        done(new Error('publish not authorised'));
      },
      authorizeSubscribe(client, sub, done) {
        const user = claimsOf(client);
        const verdict = user ? maySubscribeAsMember(user, sub.topic, im, grants) : false;
        const finish = (ok: boolean): void => {
          if (ok) return done(null, sub);
          log.info({ clientId: client.id, topic: sub.topic }, 'subscribe refused');
          done(null, null); // SUBACK 0x80 for this filter; the connection stays up
        };
        if (typeof verdict === 'boolean') return finish(verdict);
        verdict.then(
          async (ok) => {
            if (ok && sub.topic.startsWith(CHANNEL_PREFIX)) await audience.load(sub.topic.slice(CHANNEL_PREFIX.length));
            finish(ok);
          },
          (err: Error) => {
            log.error({ clientId: client.id, err: err.message }, 'membership check failed');
            finish(false);
          },
        );
      },
      authorizeForward(client, packet): AedesPublishPacket | null {
        // a publish that several of this client's subscriptions match goes once (guard/dedupe.ts)
        if (once.isRepeat(client, packet)) return null;
        const topic = packet.topic;
        // im/send and im/sync are consumed by the broker, never relayed (not even to backends subscribed to #)
        if (topic === IM_SEND || topic === IM_SYNC) return null;
        const user = claimsOf(client);
        if (user && user.role !== 'service' && user.role !== 'admin') {
          if (topic.startsWith(CHANNEL_PREFIX)) return audience.mayReceive(topic.slice(CHANNEL_PREFIX.length), user.sub) ? packet : null;
          if (needsGrantToReceive(user, topic) && !grants.allows(user.sub, topic)) return null;
        }
        // an answer to a device's own request, to a clean session: written at QoS 0 (see toUser)
        return (client as Client).clean && answers.has(packet.payload as Buffer) ? ({ ...packet, qos: 0 } as AedesPublishPacket) : packet;
      },
    });
    aedesRef = aedes;
    // messages waiting beyond aedes' concurrency leave its queue in O(1) (a telemetry burst spent 14 % of the CPU in Array.shift)
    if (!useRingQueues((aedes as unknown as { mq: unknown }).mq)) log.warn('mqemitter queues are not the arrays expected: keeping its own (slower under bursts)');
    closingAedes = aedes;
    // a persistence failure during shutdown surfaces here; logged, never an unhandled error
    (aedes as unknown as NodeJS.EventEmitter).on('error', (err: Error) => log.warn({ err: err.message }, 'broker error'));
    cleanups.push(() => new Promise<void>((r) => aedes.close(() => r())));
    // Grants arrive from backends (the server's outbox relay, or a service token over MQTT). The publish completes
    // only once the grant is stored, so a relay that saw its publish succeed knows the grant is durable.
    await new Promise<void>((resolve) => {
      aedes.subscribe(topics.aclGrants, (packet: { payload: Buffer | string }, cb: () => void) => {
        const g = parseGrant(packet.payload);
        if (typeof g === 'string') {
          log.warn({ problem: g }, 'topic grant ignored');
          return cb();
        }
        grants.apply(g).then(cb, (err: Error) => {
          log.error({ err: err.message, user: g.user, topic: g.topic }, 'topic grant not stored');
          cb();
        });
      }, () => resolve());
    });
    aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err: err.message }, 'client error'));
    aedes.on('client', (client) => {
      const user = claimsOf(client);
      if (user && tracksPresence(user.role)) {
        idle.connected(client, parserOf(client) as unknown as EventEmitter | undefined);
        presence.connected(user.sub, client.id, client);
      }
    });
    aedes.on('clientDisconnect', (client) => {
      forgetClient(client);
      idle.forget(client);
      const user = claimsOf(client);
      if (user && tracksPresence(user.role)) presence.disconnected(user.sub, client.id, client);
    });

    for (const state of await stalePresence(durable.persistence as Parameters<typeof stalePresence>[0])) publish(topics.presence(state.userId), JSON.stringify(state), true);
    await published();

    const maxPacketBytes = ctx.config.mqtt.maxPacketBytes;
    // every connection, TCP or WebSocket, refuses a packet larger than mqtt.maxPacketBytes at its header
    let dedupeWarned = false;
    const handle = (conn: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]): void => {
      const client = aedes.handle(conn, req);
      if (!once.adopt(client) && !dedupeWarned) {
        dedupeWarned = true;
        log.warn('aedes clients have no duplicates map as expected: aedes may drop a publish that reaches its message bus after a later one (guard/dedupe.ts)');
      }
      const parser = parserOf(client);
      if (parser) limitPacketSize(parser, maxPacketBytes, (declared) => log.warn({ clientId: client.id, declared, limit: maxPacketBytes }, 'mqtt packet over mqtt.maxPacketBytes: connection closed'));
    };
    // TCP and TLS: each connection's writes of one loop turn leave together (guard/write-batch.ts)
    const handleSocket = (socket: Socket): void => {
      batchWrites(socket);
      handle(socket);
    };
    // MQTT packets are small: Nagle would hold a delivery back until the previous one's ACK
    const tcp: NetServer = createServer({ noDelay: true }, handleSocket);
    const port = await listenOn(tcp, ctx.config.mqtt.port, ctx.config.http.host, 'mqtt.port');

    let wss: WebSocketServer | undefined;
    let unmount = (): void => undefined;
    const host = urlHost(ctx.config.http.host);
    const endpoints: Endpoint[] = [{ name: 'mqtt', url: `mqtt://${host}:${port}`, port, configKey: 'mqtt.port' }];
    log.info({ port, state: durable.dir }, 'broker listening');
    // mqtts beside plain MQTT when the stack has a certificate
    let tlsServer: TlsServer | undefined;
    if (ctx.tls) {
      const server = createTlsServer({ cert: ctx.tls.cert, key: ctx.tls.key, noDelay: true }, handleSocket);
      // a client that fails the handshake (plain MQTT on the TLS port, an untrusted cert) is logged, not fatal
      server.on('tlsClientError', (err) => log.debug({ err: err.message }, 'mqtts handshake failed'));
      const tlsPort = await listenOn(server, ctx.config.mqtt.tlsPort, ctx.config.http.host, 'mqtt.tlsPort').catch(async (err: unknown) => {
        await new Promise<void>((r) => tcp.close(() => r()));
        throw err;
      });
      tlsServer = server;
      endpoints.push({ name: 'mqtts', url: `mqtts://${host}:${tlsPort}`, port: tlsPort, configKey: 'mqtt.tlsPort' });
      log.info({ port: tlsPort }, 'broker listening (mqtts)');
    }

    const mountWebSocket = (router: UpgradeRouter): void => {
      if (!ctx.config.mqtt.websocket || wss) return;
      const server = new WebSocketServer({ noServer: true, maxPayload: ctx.config.mqtt.maxPacketBytes });
      wss = server;
      const remove = router.mount(MQTT_WS_PATH, (req, socket, head) => {
        server.handleUpgrade(req, socket, head, (ws) => {
          const stream = createWebSocketStream(ws);
          stream.on('error', () => stream.destroy());
          handle(stream, req);
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
            // released on a fresh stack: mqemitter runs the next queued message inside this callback, so calling it
            // synchronously nests one frame set per queued message (stack overflow under a telemetry burst)
            queueMicrotask(cb);
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
      im,
      files,
      ready: Promise.resolve(),
      endpoints,
      routes: [{ name: 'im', plugin: imRoutes(im) }, { name: 'im-keys', plugin: keys.routes() }, { name: 'files', plugin: files.routes }],
      mountWebSocket,
      async health(): Promise<Health> {
        return aedes.closed ? { ok: false, detail: 'broker closed' } : { ok: true, clients: aedes.connectedClients, fixes: { ...telemetry.stats } };
      },
      async close() {
        unmount();
        // retained "offline" for everyone still connected, written before the state store closes
        presence.allOffline();
        await published();
        const tcpClosed = Promise.all([new Promise<void>((r) => tcp.close(() => r())), new Promise<void>((r) => (tlsServer ? tlsServer.close(() => r()) : r()))]);
        for (const ws of wss?.clients ?? []) ws.terminate();
        wss?.close();
        aedesRef = undefined;
        await cleanup(); // aedes, then the LevelDB, then im.db
        await tcpClosed;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
