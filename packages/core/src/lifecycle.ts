import type { Logger } from './logger.js';
import type { InfraConfig } from './config/schema.js';
import type { Secrets } from './config/secrets.js';

export type ServiceName = 'server' | 'broker' | 'media';
export const serviceNames: readonly ServiceName[] = ['server', 'broker', 'media'];

export interface Health {
  ok: boolean;
  /** what the probe saw, for `infra status` */
  detail?: string;
  [extra: string]: unknown;
}

/** An endpoint a service listens on, with the real port after binding (port 0 picks one). */
export interface Endpoint {
  name: string;
  url: string;
  port: number;
  /** the infra.yaml key that sets this port */
  configKey: string;
}

/**
 * A pillar's HTTP surface: a fastify plugin (`FastifyPluginAsync`) the composition root registers on
 * the gateway under `prefix` (default /api/v1). Typed loosely here so core does not depend on fastify.
 */
export interface HttpRoutes {
  name: string;
  prefix?: string;
  plugin: unknown;
}

/** What every service returns from `start`. */
export interface RunningService {
  readonly name: ServiceName;
  /** resolves once the service accepts traffic */
  readonly ready: Promise<void>;
  readonly endpoints: Endpoint[];
  /** HTTP routes this pillar serves through the gateway (registered before the gateway listens) */
  readonly routes?: HttpRoutes[];
  /** called once the gateway listens, for pillars that serve WebSocket paths on its port */
  mountWebSocket?(router: UpgradeRouter): void;
  close(): Promise<void>;
  health(): Promise<Health>;
}

/** A message on the MQTT bus, as pillars exchange events (never hand-written topics: use `topics`). */
export interface BusMessage {
  topic: string;
  payload: Buffer;
}

/**
 * The MQTT bus between pillars. In one process it is the embedded broker itself; the gateway and
 * media publish their events through it. Undefined when the broker runs elsewhere (`--only`).
 */
export interface EventBus {
  publish(topic: string, payload: string | Buffer, opts?: { qos?: 0 | 1; retain?: boolean }): Promise<void>;
  /** returns the unsubscribe function */
  subscribe(filter: string, handler: (message: BusMessage) => void): Promise<() => Promise<void>>;
}

export interface ServiceContext {
  config: InfraConfig;
  secrets: Secrets;
  logger: Logger;
  /** absolute data directory (config.data.dir resolved against the stack dir) */
  dataDir: string;
  /** the in-process MQTT bus, when the broker runs in this process */
  bus?: EventBus;
  /** PEM certificate and key (read from tls.cert / tls.key) when the stack serves TLS */
  tls?: { cert: string; key: string };
}

/** Handles an HTTP upgrade (WebSocket) request for one path on the gateway's port. */
export type UpgradeHandler = (req: import('node:http').IncomingMessage, socket: import('node:stream').Duplex, head: Buffer) => void;

/** The gateway's WebSocket mount points: other pillars serve on its port (MQTT at /mqtt) without touching its server. */
export interface UpgradeRouter {
  /** the gateway's base URL (http://host:port) */
  readonly baseUrl: string;
  /** route upgrades for `path` to `handler`; returns the unmount function */
  mount(path: string, handler: UpgradeHandler): () => void;
}

/**
 * A retention sweep (or any clean-up): runs `sweep` now and then hourly, on an unref'd timer (it never keeps the
 * process up); a failure goes to `onError` and the next hour tries again. Clear the returned timer to stop it.
 */
export function sweepHourly(sweep: () => Promise<unknown>, onError: (err: Error) => void): NodeJS.Timeout {
  const run = (): void => void sweep().catch(onError);
  run();
  return setInterval(run, 3_600_000).unref();
}
