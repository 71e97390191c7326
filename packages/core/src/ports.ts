import { createServer, type Server } from 'node:net';
import { InfraError } from './errors.js';
import { portKeys, type InfraConfig, type PortKey } from './config/schema.js';

/** The one-line error for a taken port: the port, the service, the key to change. */
export function portTakenError(port: number, key: PortKey, cause?: unknown): InfraError {
  return new InfraError(
    'INFRA_ERR_PORT_TAKEN',
    `port ${port} (${key}) is in use — the ${portKeys[key]} cannot start; change ${key} in infra.yaml or pass --set ${key}=N`,
    { hint: '', cause },
  );
}

/** Addresses that must be free for `host` to be usable on a port: a stack on 127.0.0.1 also checks ::1. */
function addressesFor(host: string): string[] {
  if (host === 'localhost' || host === '127.0.0.1') return ['127.0.0.1', '::1'];
  if (host === '0.0.0.0' || host === '::') return ['0.0.0.0', '::'];
  return [host];
}

function tryBind(host: string, port: number): Promise<'free' | 'taken' | 'unavailable'> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => {
      resolve(err.code === 'EADDRINUSE' || err.code === 'EACCES' ? 'taken' : 'unavailable');
    });
    srv.listen({ host, port, exclusive: true, ipv6Only: host.includes(':') }, () => srv.close(() => resolve('free')));
  });
}

/** Checks every configured (non-zero) port on IPv4 and IPv6 before anything starts, so nothing is left half-started. */
export async function assertPortsFree(host: string, ports: { key: PortKey; port: number }[]): Promise<void> {
  for (const { key, port } of ports) {
    if (port === 0) continue;
    for (const addr of addressesFor(host)) {
      if ((await tryBind(addr, port)) === 'taken') throw portTakenError(port, key);
    }
  }
}

/** Listens and turns EADDRINUSE into the catalogue error; resolves with the real port. */
export function listenOn(server: Server | import('node:http').Server, port: number, host: string, key: PortKey): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      reject(err.code === 'EADDRINUSE' ? portTakenError(port, key, err) : new InfraError('INFRA_ERR_LISTEN', `cannot listen on ${host}:${port} (${key}): ${err.message}`, { cause: err }));
    };
    const onListening = (): void => {
      server.off('error', onError);
      const addr = server.address();
      resolve(typeof addr === 'object' && addr ? addr.port : port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

/** A free TCP port on host, for servers that cannot report the port they picked. */
export function pickFreePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** The configured value of a port key. */
export function portOf(config: InfraConfig, key: PortKey): number {
  switch (key) {
    case 'http.port': return config.http.port;
    case 'mqtt.port': return config.mqtt.port;
    case 'mqtt.tlsPort': return config.mqtt.tlsPort;
    case 'media.rtmp.port': return config.media.rtmp.port;
    case 'media.http.port': return config.media.http.port;
  }
}

/** Where a client on this machine reaches a listener bound to `host`: the wildcard addresses mean loopback. */
export function localHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '::1';
  return host;
}

/** A host as it goes into a URL: IPv6 literals in brackets. */
export function urlHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
