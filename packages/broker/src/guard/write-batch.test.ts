import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { batchWrites } from './write-batch.js';

/** A loopback pair: `server` is the broker's side (batched when asked), `client` the peer that reads. */
async function pair(batched: boolean): Promise<{ server: Socket; client: Socket; listener: Server }> {
  let accepted!: (s: Socket) => void;
  const serverSide = new Promise<Socket>((r) => (accepted = r));
  const listener = createServer({ noDelay: true }, (s) => {
    if (batched) batchWrites(s);
    accepted(s);
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', () => r()));
  const port = (listener.address() as { port: number }).port;
  const client = createConnection({ port, host: '127.0.0.1' });
  await new Promise<void>((r) => client.once('connect', () => r()));
  return { server: await serverSide, client, listener };
}

/** counts the system-call-level writes the stream issues (one _write or one _writev each) */
function countWrites(s: Socket): { calls: number; chunks: number } {
  const n = { calls: 0, chunks: 0 };
  const internals = s as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const w = internals._write;
  const wv = internals._writev;
  internals._write = function (this: Socket, ...a: unknown[]) {
    n.calls++;
    n.chunks++;
    return w.apply(this, a);
  };
  internals._writev = function (this: Socket, chunks: unknown[], cb: unknown) {
    n.calls++;
    n.chunks += chunks.length;
    return wv.call(this, chunks, cb);
  };
  return n;
}

/** what the peer reads until `bytes` arrived (or the stream ends) */
function readAll(client: Socket, bytes: number): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    const done = (): void => resolve(got);
    client.on('data', (d: Buffer) => {
      got += d.toString();
      if (got.length >= bytes) done();
    });
    client.once('end', done);
  });
}

/** writes each packet from a setImmediate callback of its own, as aedes writes deliveries and acks */
function writeLikeAedes(s: Socket, packets: string[]): void {
  for (const p of packets) setImmediate(() => s.write(p));
}

describe('batchWrites', () => {
  const open: { server: Socket; client: Socket; listener: Server }[] = [];
  afterEach(async () => {
    for (const p of open.splice(0)) {
      p.client.destroy();
      p.server.destroy();
      await new Promise<void>((r) => p.listener.close(() => r()));
    }
  });

  /** 50 packets written the way aedes writes them; what the peer got, and the write calls the server made */
  const fiftyPackets = async (batched: boolean): Promise<{ calls: number; chunks: number }> => {
    const p = await pair(batched);
    open.push(p);
    const writes = countWrites(p.server);
    const packets = Array.from({ length: 50 }, (_, i) => `<${i}>`);
    const received = readAll(p.client, packets.join('').length);
    writeLikeAedes(p.server, packets);
    expect(await received).toBe(packets.join(''));
    return writes;
  };

  it('sends the packets a loop turn writes to one connection in one write call, in order', async () => {
    expect(await fiftyPackets(true)).toEqual({ calls: 1, chunks: 50 });
  });

  it('without it, the same packets cost one write call each (what the batching saves)', async () => {
    expect((await fiftyPackets(false)).calls).toBe(50);
  });

  it('sends a lone packet without waiting for more, and later turns again', async () => {
    const p = await pair(true);
    open.push(p);
    const writes = countWrites(p.server);
    for (const packet of ['one', 'two', 'three']) {
      const received = readAll(p.client, packet.length);
      p.server.write(packet);
      expect(await received).toBe(packet);
      p.client.removeAllListeners('data');
      p.client.removeAllListeners('end');
    }
    expect(writes.calls).toBe(3);
  });

  it('loses nothing when the connection is ended in the turn that wrote', async () => {
    const p = await pair(true);
    open.push(p);
    const received = readAll(p.client, Number.MAX_SAFE_INTEGER);
    setImmediate(() => {
      p.server.write('last words');
      p.server.end();
    });
    expect(await received).toBe('last words');
  });

  it('keeps the stream’s back-pressure: a full buffer still answers false and drains', async () => {
    const p = await pair(true);
    open.push(p);
    const big = 'x'.repeat(p.server.writableHighWaterMark);
    const received = readAll(p.client, big.length * 2);
    expect(p.server.write(big)).toBe(false);
    p.server.write(big);
    await new Promise<void>((r) => p.server.once('drain', () => r()));
    expect((await received).length).toBe(big.length * 2);
  });
});
