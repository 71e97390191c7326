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

/** What every service returns from `start`. */
export interface RunningService {
  readonly name: ServiceName;
  /** resolves once the service accepts traffic */
  readonly ready: Promise<void>;
  readonly endpoints: Endpoint[];
  close(): Promise<void>;
  health(): Promise<Health>;
}

export interface ServiceContext {
  config: InfraConfig;
  secrets: Secrets;
  logger: Logger;
  /** absolute data directory (config.data.dir resolved against the stack dir) */
  dataDir: string;
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
