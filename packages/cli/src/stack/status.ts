import { loadConfig, localHost, serviceNames, TokenIssuer, type Endpoint, type ServiceName } from '@infra/core';
import { readStates, type StackState } from './state.js';
import { probeHttpReady, probeMqtt, probeRtmp } from './probes.js';

export interface ServiceStatus {
  ok: boolean;
  detail?: string;
  /** the `infra up` process that runs it */
  pid: number;
  endpoints: Endpoint[];
}

export interface ProcessStatus {
  pid: number;
  services: ServiceName[];
  startedAt: string;
  uptimeSeconds: number;
}

export interface StackStatus {
  name: string;
  dir: string;
  running: boolean;
  /** one per `infra up` process (several when the stack is scaled out with --only) */
  processes: ProcessStatus[];
  services: Partial<Record<ServiceName, ServiceStatus>>;
}

const PROBE_TIMEOUT_MS = 3000;

/** Health of a running stack, probed for real: HTTP /ready, an MQTT CONNECT, an RTMP handshake. */
export async function stackStatus(opts: { dir: string; set: string[] }): Promise<StackStatus> {
  const loaded = loadConfig({ dir: opts.dir, set: opts.set });
  const states = readStates(loaded.dataDir);
  const probed = new Map<ServiceName, ServiceStatus>();
  const probe = async (state: StackState, s: ServiceName): Promise<void> => {
    const endpoints = state.endpoints[s] ?? [];
    const host = localHost(state.host);
    const port = (name: string): number => endpoints.find((e) => e.name === name)?.port ?? 0;
    try {
      if (s === 'server') await probeHttpReady(host, port('api'), PROBE_TIMEOUT_MS);
      else if (s === 'media') await probeRtmp(host, port('rtmp'), PROBE_TIMEOUT_MS);
      else {
        if (!loaded.secrets) throw new Error('cannot probe MQTT: the stack secrets are missing');
        const token = await new TokenIssuer(loaded.secrets.jwtSecret).sign('infra-status', 'service', 60);
        await probeMqtt(host, port('mqtt'), 'infra-status', token, PROBE_TIMEOUT_MS);
      }
      probed.set(s, { ok: true, pid: state.pid, endpoints });
    } catch (err) {
      probed.set(s, { ok: false, detail: (err as Error).message, pid: state.pid, endpoints });
    }
  };
  await Promise.all(states.flatMap((state) => state.services.map((s) => probe(state, s))));
  const services: Partial<Record<ServiceName, ServiceStatus>> = {};
  for (const s of serviceNames) if (probed.has(s)) services[s] = probed.get(s); // canonical order, not probe-finish order
  return {
    name: states[0]?.name ?? loaded.config.name,
    dir: loaded.dir,
    running: states.length > 0,
    processes: states.map((st) => ({ pid: st.pid, services: st.services, startedAt: st.startedAt, uptimeSeconds: Math.round((Date.now() - Date.parse(st.startedAt)) / 1000) })),
    services,
  };
}
