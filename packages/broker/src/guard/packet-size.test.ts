import { describe, expect, it } from 'vitest';
import mqttPacket from 'mqtt-packet';
import { limitPacketSize, type PacketParser } from './packet-size.js';

const publish = (bytes: number): Buffer => mqttPacket.generate({ cmd: 'publish', topic: 't', payload: Buffer.alloc(bytes, 1), qos: 0, retain: false, dup: false });

function limitedParser(max: number): { parser: ReturnType<typeof mqttPacket.parser>; packets: number[]; errors: string[]; tooLarge: number[] } {
  const parser = mqttPacket.parser();
  const packets: number[] = [];
  const errors: string[] = [];
  const tooLarge: number[] = [];
  parser.on('packet', (p: { payload?: Buffer }) => packets.push(p.payload?.length ?? 0));
  parser.on('error', (e: Error) => errors.push(e.message));
  limitPacketSize(parser as unknown as PacketParser, max, (n) => tooLarge.push(n));
  return { parser, packets, errors, tooLarge };
}

describe('limitPacketSize', () => {
  it('parses packets within the limit as before, however the stream is chunked', () => {
    const stream = Buffer.concat([mqttPacket.generate({ cmd: 'pingreq' }), publish(100), publish(20_000)]);
    for (const size of [1, 7, 1000, stream.length]) {
      const { parser, packets, errors } = limitedParser(32_768);
      for (let i = 0; i < stream.length; i += size) parser.parse(stream.subarray(i, i + size));
      expect(errors).toEqual([]);
      expect(packets).toEqual([0, 100, 20_000]);
    }
  });

  it('refuses a packet at its header, before its body arrives', () => {
    const { parser, packets, errors, tooLarge } = limitedParser(4096);
    parser.parse(publish(10));
    parser.parse(publish(5000).subarray(0, 5)); // the fixed header and a little: no body yet
    expect(packets).toEqual([10]);
    expect(tooLarge[0]).toBeGreaterThan(4096);
    expect(errors[0]).toContain('exceeds mqtt.maxPacketBytes');
  });
});
