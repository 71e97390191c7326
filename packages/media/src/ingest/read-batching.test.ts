import { createServer, connect, type Server, type Socket } from 'node:net';
import { once } from 'node:events';
import { afterEach, describe, expect, it } from 'vitest';
import { batchReads } from './read-batching.js';

/** A real loopback TCP pair: `server` is the accepted socket (what node-media-server reads), `client` the pusher's. */
async function pair(): Promise<{ server: Socket; client: Socket; close: () => Promise<void> }> {
  const srv: Server = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const accepted = once(srv, 'connection');
  const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
  client.setNoDelay(true);
  const [server] = (await accepted) as [Socket];
  return {
    server,
    client,
    close: async () => {
      client.destroy();
      server.destroy();
      await new Promise((r) => srv.close(r));
    },
  };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of closers.splice(0)) await c();
});

/** writes `count` 1 KiB chunks, one every `everyMs`, each chunk filled with its index */
async function trickle(client: Socket, count: number, everyMs: number): Promise<Buffer> {
  const sent: Buffer[] = [];
  for (let i = 0; i < count; i++) {
    const chunk = Buffer.alloc(1024, i % 256);
    sent.push(chunk);
    client.write(chunk);
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return Buffer.concat(sent);
}

describe('batched reads of a publisher socket', () => {
  it('delivers the same bytes in order, in far fewer reads than segments sent', async () => {
    const p = await pair();
    closers.push(p.close);
    const got: Buffer[] = [];
    p.server.on('data', (d: Buffer) => got.push(d));
    const batching = batchReads(p.server, 50);
    const sent = await trickle(p.client, 100, 4); // ~100 segments over >= 400 ms
    await new Promise((r) => setTimeout(r, 120));
    expect(Buffer.concat(got).equals(sent)).toBe(true);
    // read as it arrives, this is ~100 reads; every 50 ms it is about one read per tick
    expect(got.length).toBeLessThanOrEqual(batching.ticks + 1);
    expect(got.length).toBeLessThan(40);
  });

  it('reads as data arrives with everyMs 0, and before afterMs', async () => {
    const p = await pair();
    closers.push(p.close);
    let reads = 0;
    p.server.on('data', () => reads++);
    const off = batchReads(p.server, 0);
    await trickle(p.client, 30, 8);
    await new Promise((r) => setTimeout(r, 50));
    expect(off.ticks).toBe(0);
    expect(reads).toBeGreaterThanOrEqual(20);

    const q = await pair();
    closers.push(q.close);
    let early = 0;
    q.server.on('data', () => early++);
    const later = batchReads(q.server, 50, 10_000);
    await trickle(q.client, 30, 8);
    await new Promise((r) => setTimeout(r, 50));
    expect(later.ticks).toBe(0);
    expect(early).toBeGreaterThanOrEqual(20);
  });

  it('drains everything the kernel holds on each tick: a burst far above one read buffer is not throttled', async () => {
    const p = await pair();
    closers.push(p.close);
    let received = 0;
    p.server.on('data', (d: Buffer) => (received += d.length));
    const batching = batchReads(p.server, 50);
    await new Promise((r) => setTimeout(r, 60)); // batching has stopped reading between ticks
    const burst = 8 * 1024 * 1024;
    const t0 = Date.now();
    p.client.write(Buffer.alloc(burst, 7));
    while (received < burst && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 10));
    expect(received).toBe(burst);
    // one 64 KiB read per 50 ms tick would need 128 ticks (6.4 s)
    expect(batching.ticks).toBeLessThan(60);
  });

  it('sees the pusher leave within a tick, and stop() goes back to reading as data arrives', async () => {
    const p = await pair();
    closers.push(p.close);
    let reads = 0;
    p.server.on('data', () => reads++);
    const batching = batchReads(p.server, 50);
    await trickle(p.client, 5, 20);
    batching.stop();
    const before = reads;
    await trickle(p.client, 20, 8);
    await new Promise((r) => setTimeout(r, 30));
    expect(reads - before).toBeGreaterThanOrEqual(12); // not one per 50 ms any more

    const q = await pair();
    closers.push(q.close);
    q.server.on('data', () => undefined);
    batchReads(q.server, 50);
    await new Promise((r) => setTimeout(r, 75));
    const closed = once(q.server, 'close');
    const t0 = Date.now();
    q.client.end();
    q.server.on('end', () => q.server.end());
    await closed;
    expect(Date.now() - t0).toBeLessThan(500);
  });
});
