import { loadConfig, TokenIssuer, type Endpoint, type ServiceName } from '@infra/core';
import { readState } from './state.js';
import { probeHost, probeHttpReady, probeMqtt, probeRtmp } from './probes.js';

export interface ServiceStatus {
  ok: boolean;
  detail?: string;
  endpoints: Endpoint[];
}

export interface StackStatus {
  name: string;
  dir: string;
  running: boolean;
  pid?: number;
  startedAt?: string;
  uptimeSeconds?: number;
  services: Partial<Record<ServiceName, ServiceStatus>>;
}

const PROBE_TIMEOUT_MS = 3000;

/** Health of a running stack, probed for real: HTTP /ready, an MQTT CONNECT, an RTMP handshake. */
export async function stackStatus(opts: { dir: string; set: string[] }): Promise<StackStatus> {
  const loaded = loadConfig({ dir: opts.dir, set: opts.set });
  const state = readState(loaded.dataDir);
  if (!state) return { name: loaded.config.name, dir: loaded.dir, running: false, services: {} };
  const host = probeHost(state.host);
  const port = (s: ServiceName, name: string): number => state.endpoints[s]?.find((e) => e.name === name)?.port ?? 0;
  const probed = new Map<ServiceName, ServiceStatus>();
  await Promise.all(state.services.map(async (s) => {
    const endpoints = state.endpoints[s] ?? [];
    try {
      if (s === 'server') await probeHttpReady(host, port(s, 'api'), PROBE_TIMEOUT_MS);
      else if (s === 'media') await probeRtmp(host, port(s, 'rtmp'), PROBE_TIMEOUT_MS);
      else {
        if (!loaded.secrets) throw new Error('cannot probe MQTT: the stack secrets are missing');
        const token = await new TokenIssuer(loaded.secrets.jwtSecret).sign('infra-status', 'service', 60);
        await probeMqtt(host, port(s, 'mqtt'), 'infra-status', token, PROBE_TIMEOUT_MS);
      }
      probed.set(s, { ok: true, endpoints });
    } catch (err) {
      probed.set(s, { ok: false, detail: (err as Error).message, endpoints });
    }
  }));
  const services: Partial<Record<ServiceName, ServiceStatus>> = {};
  for (const s of state.services) services[s] = probed.get(s); // canonical order, not probe-finish order
  return {
    name: state.name,
    dir: state.dir,
    running: true,
    pid: state.pid,
    startedAt: state.startedAt,
    uptimeSeconds: Math.round((Date.now() - Date.parse(state.startedAt)) / 1000),
    services,
  };
}
