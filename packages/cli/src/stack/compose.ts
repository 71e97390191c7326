import { accessSync, constants, mkdirSync, readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { createSecureContext } from 'node:tls';
import {
  assertPortsFree, InfraError, isInfraError, localHost, parseDuration, portKeys, portOf, TokenIssuer,
  type Endpoint, type Health, type InfraConfig, type LoadedConfig, type Logger, type PortKey, type RecentLines,
  type RunningService, type Secrets, type ServiceContext, type ServiceName,
} from '@infra/core';
import { startServer, type RoutePlugin } from '@infra/server';
import { startBroker } from '@infra/broker';
import { startMedia } from '@infra/media';
import { probeHttpReady, probeMqtt, probeRtmp } from './probes.js';

export interface StackOptions {
  loaded: LoadedConfig & { secrets: Secrets };
  /** narrow to these pillars (`infra up --only`) */
  only?: ServiceName[];
  version: string;
  logger: Logger;
  recent: RecentLines;
  /** progress lines for a person watching (`starting broker…`) */
  progress?: (line: string) => void;
  now?: () => number;
}

export interface RunningStack {
  services: ServiceName[];
  endpoints: Record<string, Endpoint[]>;
  adminToken: string;
  adminTokenTtl: string;
  readyMs: number;
  health(): Promise<Record<string, Health>>;
  close(): Promise<void>;
}

/** The services `infra up` starts: the config's list, or the --only list instead, in the config's canonical order. */
export function enabledServices(configured: readonly ServiceName[], only?: ServiceName[]): ServiceName[] {
  const wanted = only && only.length > 0 ? only : configured;
  return (['server', 'broker', 'media'] as const).filter((s) => wanted.includes(s));
}

function assertWritable(dir: string): void {
  try {
    mkdirSync(dir, { recursive: true });
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw new InfraError('INFRA_ERR_DATA_DIR', `data.dir ${dir} is not writable: ${(err as Error).message}`);
  }
}

/** Start order: the broker first (its bus carries the others' events), the gateway last (it registers the others' routes). */
const START_ORDER: readonly ServiceName[] = ['broker', 'media', 'server'];

/**
 * The composition root: starts the enabled pillars in one process, hands every pillar the broker's
 * in-process bus and the gateway the other pillars' routes and WebSocket paths, then probes each
 * for real before it counts as ready. Either everything is up, or whatever started is closed again
 * and the error says why.
 */
export async function startStack(opts: StackOptions): Promise<RunningStack> {
  const now = opts.now ?? Date.now;
  const t0 = now();
  const { config, dataDir, secrets } = opts.loaded;
  const services = enabledServices(config.services, opts.only);
  const say = opts.progress ?? (() => undefined);

  if (config.storage.url !== '') {
    throw new InfraError('INFRA_ERR_UNSUPPORTED', `storage.url ${config.storage.url.replace(/\/\/[^@/]*@/, '//***@')} is not supported yet: only the embedded SQLite storage (storage.url: "") runs today`);
  }
  assertWritable(dataDir);
  const tls = readTls(config, opts.loaded.dir, opts.loaded.file);
  const ports = (Object.keys(portKeys) as PortKey[]).filter((key) => services.includes(portKeys[key]) && (key !== 'mqtt.tlsPort' || tls));
  await assertPortsFree(config.http.host, ports.map((key) => ({ key, port: portOf(config, key) })));

  const issuer = new TokenIssuer(secrets.jwtSecret);
  const ctx: ServiceContext = { config, secrets, logger: opts.logger, dataDir, ...(tls ? { tls } : {}) };
  const running = new Map<ServiceName, RunningService>();
  const healthOf = async (): Promise<Record<string, Health>> => {
    const out: Record<string, Health> = {};
    await Promise.all(services.map(async (s) => {
      const svc = running.get(s);
      out[s] = svc ? await svc.health().catch((err: Error) => ({ ok: false, detail: err.message })) : { ok: false, detail: 'starting' };
    }));
    return out;
  };
  const closeAll = async (): Promise<void> => {
    for (const s of [...running.keys()].reverse()) {
      await running.get(s)?.close().catch((err: Error) => opts.logger.error({ service: s, err: err.message }, 'close failed'));
      running.delete(s);
    }
  };

  let current: ServiceName | undefined;
  try {
    for (const s of START_ORDER.filter((x) => services.includes(x))) {
      current = s;
      say(`starting ${s}…`);
      if (s === 'broker') {
        const broker = await startBroker(ctx, { issuer });
        ctx.bus = broker.bus;
        running.set(s, broker);
      } else if (s === 'media') {
        running.set(s, await startMedia(ctx));
      } else {
        const routes = [...running.values()].flatMap((r) => r.routes ?? []);
        const server = await startServer(ctx, { issuer, version: opts.version, healthOf, plugins: routes as RoutePlugin[], stackDir: opts.loaded.dir });
        running.set(s, server);
        for (const r of running.values()) r.mountWebSocket?.(server.upgrades);
      }
      await running.get(s)?.ready;
    }
    current = undefined;

    say('probing…');
    const probeToken = await issuer.sign('infra-probe', 'service', 60);
    const host = localHost(config.http.host);
    const endpointPort = (s: ServiceName, name: string): number => running.get(s)?.endpoints.find((e) => e.name === name)?.port ?? 0;
    await waitReady(
      services.map((s) => ({
        service: s,
        run: (timeoutMs: number) =>
          s === 'server' ? probeHttpReady(host, endpointPort('server', 'api'), timeoutMs, tls !== undefined)
          : s === 'broker' ? probeMqtt(host, endpointPort('broker', 'mqtt'), 'infra-probe', probeToken, timeoutMs)
          : probeRtmp(host, endpointPort('media', 'rtmp'), timeoutMs),
      })),
      config.startup.timeoutMs,
      opts.recent,
    );

    const adminTokenTtl = config.auth.devTokenTtl;
    const adminToken = await issuer.sign('admin', 'admin', parseDuration(adminTokenTtl));
    const endpoints: Record<string, Endpoint[]> = {};
    for (const [s, svc] of running) endpoints[s] = svc.endpoints;
    opts.logger.info({ services, readyMs: now() - t0 }, 'stack ready');
    return { services, endpoints, adminToken, adminTokenTtl, readyMs: now() - t0, health: healthOf, close: closeAll };
  } catch (err) {
    await closeAll();
    if (isInfraError(err)) throw err;
    const lines = current ? opts.recent.lines(current) : [];
    throw new InfraError('INFRA_ERR_START_FAILED', `${current ?? 'stack'} failed to start: ${(err as Error).message}`, {
      cause: err,
      details: lines.map((l) => ({ message: l })),
    });
  }
}

/**
 * The certificate and key named by tls.cert / tls.key (relative to the stack directory), checked to be a pair before
 * anything starts; undefined when TLS is off. A wrong path or a key that does not match is one line naming the key.
 */
export function readTls(config: InfraConfig, dir: string, file: string): { cert: string; key: string } | undefined {
  const { cert, key } = config.tls;
  if (cert === '' && key === '') return undefined;
  if (cert === '' || key === '') throw new InfraError('INFRA_ERR_TLS', `${file}: tls.${cert === '' ? 'cert' : 'key'} is empty; set both tls.cert and tls.key, or neither`);
  const read = (k: 'cert' | 'key', path: string): string => {
    try {
      return readFileSync(resolvePath(dir, path), 'utf8');
    } catch (err) {
      throw new InfraError('INFRA_ERR_TLS', `${file}: tls.${k}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  };
  const pair = { cert: read('cert', cert), key: read('key', key) };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new InfraError('INFRA_ERR_TLS', `${file}: tls.cert ${cert} and tls.key ${key} are not a usable PEM certificate and its key (${(err as Error).message})`);
  }
  return pair;
}

interface Probe {
  service: ServiceName;
  run: (timeoutMs: number) => Promise<void>;
}

/** Probes with backoff, narrowing to the services still not ready; on timeout names each with its last error and recent log lines. */
export async function waitReady(probes: Probe[], timeoutMs: number, recent: RecentLines): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const lastError = new Map<ServiceName, string>();
  let pending = probes;
  let delay = 20;
  for (;;) {
    const budget = Math.max(100, Math.min(2000, deadline - Date.now()));
    const results = await Promise.allSettled(pending.map((p) => p.run(budget)));
    pending = pending.filter((p, i) => {
      const r = results[i];
      if (r?.status === 'rejected') lastError.set(p.service, (r.reason as Error).message);
      return r?.status === 'rejected';
    });
    if (pending.length === 0) return;
    if (Date.now() >= deadline) {
      throw new InfraError('INFRA_ERR_NOT_READY', `not ready after ${timeoutMs} ms: ${pending.map((p) => `${p.service} (${lastError.get(p.service) ?? 'no answer'})`).join('; ')}`, {
        details: pending.flatMap((p) => recent.lines(p.service).map((l) => ({ path: p.service, message: l }))),
      });
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 500);
  }
}
