import { afterEach, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { createServer as createHttpServer } from 'node:http';
import { assertPortsFree, listenOn, pickFreePort, portTakenError } from './ports.js';
import { InfraError } from './errors.js';

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
});

/** A real server holding a port on one address; resolves with the port. */
function hold(host: string, port = 0, opts: { ipv6Only?: boolean } = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    servers.push(srv);
    srv.once('error', reject);
    srv.listen({ host, port, ipv6Only: opts.ipv6Only ?? false }, () => resolve((srv.address() as { port: number }).port));
  });
}

/** Whether ::1 can be bound here (no IPv6 loopback in some containers). */
async function canBindIpv6Loopback(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => resolve(`${err.code ?? err.message}`));
    srv.listen({ host: '::1', port: 0, ipv6Only: true }, () => srv.close(() => resolve(undefined)));
  });
}
const ipv6Problem = await canBindIpv6Loopback();
if (ipv6Problem) console.log(`skipping the ::1 port tests: ::1 cannot be bound on this machine (${ipv6Problem})`);

async function rejection(p: Promise<unknown>): Promise<InfraError> {
  let thrown: unknown;
  try {
    await p;
  } catch (err) {
    thrown = err;
  }
  expect(thrown, 'expected a rejection').toBeInstanceOf(InfraError);
  return thrown as InfraError;
}

describe('assertPortsFree', () => {
  it('passes for free ports', async () => {
    const a = await pickFreePort('127.0.0.1');
    await expect(assertPortsFree('127.0.0.1', [{ key: 'http.port', port: a }])).resolves.toBeUndefined();
  });

  it('throws INFRA_ERR_PORT_TAKEN naming the key when a server holds the port on 127.0.0.1', async () => {
    const port = await hold('127.0.0.1');
    const err = await rejection(assertPortsFree('127.0.0.1', [{ key: 'mqtt.port', port }]));
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
    expect(err.message).toContain('mqtt.port');
    expect(err.message).toContain(String(port));
  });

  it('names the key of the taken port, not of the free ones checked before it', async () => {
    const free = await pickFreePort('127.0.0.1');
    const taken = await hold('127.0.0.1');
    const err = await rejection(
      assertPortsFree('127.0.0.1', [
        { key: 'http.port', port: free },
        { key: 'media.rtmp.port', port: taken },
      ]),
    );
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
    expect(err.message).toContain('media.rtmp.port');
    expect(err.message).not.toContain('http.port');
  });

  it('a stack on localhost is also blocked by a server on 127.0.0.1', async () => {
    const port = await hold('127.0.0.1');
    const err = await rejection(assertPortsFree('localhost', [{ key: 'http.port', port }]));
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
  });

  it('a stack on 0.0.0.0 is blocked by a server on 127.0.0.1', async () => {
    const port = await hold('127.0.0.1');
    const err = await rejection(assertPortsFree('0.0.0.0', [{ key: 'http.port', port }]));
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
  });

  it.skipIf(ipv6Problem !== undefined)('throws INFRA_ERR_PORT_TAKEN when a server holds the port on ::1 only', async () => {
    const port = await hold('::1', 0, { ipv6Only: true });
    // the IPv4 side really is free: only the IPv6 check can catch this
    const v4 = createServer();
    servers.push(v4);
    await new Promise<void>((resolve, reject) => {
      v4.once('error', reject);
      v4.listen({ host: '127.0.0.1', port }, () => v4.close(() => resolve()));
    });
    const err = await rejection(assertPortsFree('127.0.0.1', [{ key: 'media.http.port', port }]));
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
    expect(err.message).toContain('media.http.port');
    expect(err.message).toContain(String(port));
  });

  it.skipIf(ipv6Problem !== undefined)('a stack on :: is blocked by a server on ::1', async () => {
    const port = await hold('::1', 0, { ipv6Only: true });
    const err = await rejection(assertPortsFree('::', [{ key: 'http.port', port }]));
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
  });

  it('port 0 is always fine, even with servers everywhere', async () => {
    await hold('127.0.0.1');
    await expect(
      assertPortsFree('127.0.0.1', [
        { key: 'http.port', port: 0 },
        { key: 'mqtt.port', port: 0 },
      ]),
    ).resolves.toBeUndefined();
  });

  it('leaves the checked ports free afterwards', async () => {
    const port = await pickFreePort('127.0.0.1');
    await assertPortsFree('127.0.0.1', [{ key: 'http.port', port }]);
    await expect(hold('127.0.0.1', port)).resolves.toBe(port);
  });
});

describe('listenOn', () => {
  it('resolves the real port for port 0', async () => {
    const srv = createServer();
    servers.push(srv);
    const port = await listenOn(srv, 0, '127.0.0.1', 'mqtt.port');
    expect(port).toBeGreaterThan(0);
    expect((srv.address() as { port: number }).port).toBe(port);
  });

  it('works with an http server and a fixed port', async () => {
    const want = await pickFreePort('127.0.0.1');
    const srv = createHttpServer();
    servers.push(srv as unknown as Server);
    expect(await listenOn(srv, want, '127.0.0.1', 'http.port')).toBe(want);
  });

  it('turns EADDRINUSE into INFRA_ERR_PORT_TAKEN naming the key', async () => {
    const port = await hold('127.0.0.1');
    const srv = createServer();
    servers.push(srv);
    const err = await rejection(listenOn(srv, port, '127.0.0.1', 'media.rtmp.port'));
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
    expect(err.message).toContain('media.rtmp.port');
    expect((err.cause as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });

  it('other listen failures are INFRA_ERR_LISTEN', async () => {
    const srv = createServer();
    servers.push(srv);
    // 192.0.2.1 (TEST-NET-1) is not an address of this machine
    const err = await rejection(listenOn(srv, 0, '192.0.2.1', 'http.port'));
    expect(err.code).toBe('INFRA_ERR_LISTEN');
    expect(err.message).toContain('http.port');
  });
});

describe('portTakenError', () => {
  it('names the port, the service and the key', () => {
    const err = portTakenError(1883, 'mqtt.port');
    expect(err.code).toBe('INFRA_ERR_PORT_TAKEN');
    expect(err.message).toContain('1883');
    expect(err.message).toContain('mqtt.port');
    expect(err.message).toContain('broker');
  });
});
