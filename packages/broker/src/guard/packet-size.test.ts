import { describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import { PacketSizeGuard } from './packet-size.js';

function run(limit: number, chunks: Buffer[]): Promise<{ passed: Buffer; tooLarge: number | undefined; error: Error | undefined }> {
  return new Promise((resolve) => {
    let tooLarge: number | undefined;
    const guard = new PacketSizeGuard(limit, (n) => (tooLarge = n));
    const out: Buffer[] = [];
    guard.on('data', (d: Buffer) => out.push(d));
    guard.on('error', (error) => resolve({ passed: Buffer.concat(out), tooLarge, error }));
    guard.on('end', () => resolve({ passed: Buffer.concat(out), tooLarge, error: undefined }));
    for (const c of chunks) guard.write(c);
    guard.end();
  });
}

const publish = (bytes: number): Buffer => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes, 1), qos: 0, retain: false, dup: false });

describe('PacketSizeGuard', () => {
  it('passes packets within the limit unchanged, however the stream is chunked', async () => {
    const stream = Buffer.concat([mqttPacket.generate({ cmd: 'pingreq' }), publish(100), publish(300), publish(20_000)]);
    for (const size of [1, 3, 7, 1000, stream.length]) {
      const chunks: Buffer[] = [];
      for (let i = 0; i < stream.length; i += size) chunks.push(stream.subarray(i, i + size));
      const r = await run(32_768, chunks);
      expect(r.error).toBeUndefined();
      expect(r.passed.equals(stream)).toBe(true);
    }
  });

  it('cuts the stream at the header of a packet that declares more than the limit, before its body', async () => {
    const big = publish(5000);
    const r = await run(4096, [publish(10), big.subarray(0, 5)]);
    expect(r.error?.message).toContain('exceeds mqtt.maxPacketBytes');
    expect(r.tooLarge).toBeGreaterThan(4096);
    expect(r.passed.length).toBe(publish(10).length); // nothing of the big packet went through
  });
});
