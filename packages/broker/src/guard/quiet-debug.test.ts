import { execFileSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

// Module loading is per process (and this test process has loaded mqtt-packet through MQTT.js before): each case runs
// in a fresh Node process against the built module, as the broker runs.
const built = pathToFileURL(fileURLToPath(new URL('../../dist/guard/quiet-debug.js', import.meta.url))).href;
const aedesDir = fileURLToPath(new URL('../../../../node_modules/aedes/aedes.js', import.meta.url));

function inFreshNode(body: string, env: Record<string, string> = {}): Record<string, unknown> {
  const script = `
    import { createRequire } from 'node:module';
    const { quietMqttPacketDebug } = await import(${JSON.stringify(built)});
    const fromAedes = createRequire(${JSON.stringify(aedesDir)});
    const out = {};
    ${body}
    process.stdout.write(JSON.stringify(out));`;
  const { DEBUG: _drop, ...rest } = process.env;
  return JSON.parse(execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...rest, ...env } })) as Record<string, unknown>;
}

/** a PUBLISH written by mqtt-packet's writer and read back by its parser, in the child */
const roundTrip = `
  const mqtt = fromAedes('mqtt-packet');
  const { PassThrough } = await import('node:stream');
  const s = new PassThrough();
  const chunks = [];
  s.on('data', (c) => chunks.push(c));
  mqtt.writeToStream({ cmd: 'publish', topic: 'im/u/a', payload: Buffer.from('{"x":1}'), qos: 1, messageId: 7, retain: false, dup: false }, s);
  await new Promise((r) => setImmediate(r));
  const parser = mqtt.parser();
  const got = [];
  parser.on('packet', (p) => got.push({ cmd: p.cmd, topic: p.topic, payload: p.payload.toString(), messageId: p.messageId }));
  parser.parse(Buffer.concat(chunks));
  out.packets = got;`;

describe('quietMqttPacketDebug', () => {
  it('gives mqtt-packet, loaded after it, no-op loggers; other namespaces and packets are unchanged', () => {
    const out = inFreshNode(`
      out.quieted = quietMqttPacketDebug();
      out.again = quietMqttPacketDebug();
      const createDebug = createRequire(fromAedes.resolve('mqtt-packet'))('debug');
      out.parserLogger = createDebug('mqtt-packet:parser').namespace;
      out.otherLogger = createDebug('aedes:client').namespace;
      out.factoryApi = typeof createDebug.enable === 'function' && typeof createDebug.formatters === 'object';
      ${roundTrip}`);
    expect(out.quieted).toBe(true);
    expect(out.again).toBe(true);
    expect(out.parserLogger).toBe('mqtt-packet (quiet)');
    expect(out.otherLogger).toBe('aedes:client');
    expect(out.factoryApi).toBe(true);
    expect(out.packets).toEqual([{ cmd: 'publish', topic: 'im/u/a', payload: '{"x":1}', messageId: 7 }]);
  });

  it('leaves loggers enabled by DEBUG at start as they are', () => {
    const out = inFreshNode(`
      out.quieted = quietMqttPacketDebug();
      const createDebug = createRequire(fromAedes.resolve('mqtt-packet'))('debug');
      const d = createDebug('mqtt-packet:parser');
      out.parserLogger = d.namespace;
      out.enabled = d.enabled;`, { DEBUG: 'mqtt-packet:*' });
    expect(out.quieted).toBe(true);
    expect(out.parserLogger).toBe('mqtt-packet:parser');
    expect(out.enabled).toBe(true);
  });

  it('changes nothing (and says so) when mqtt-packet was loaded first', () => {
    const out = inFreshNode(`
      fromAedes('mqtt-packet');
      out.quieted = quietMqttPacketDebug();
      const createDebug = createRequire(fromAedes.resolve('mqtt-packet'))('debug');
      out.parserLogger = createDebug('mqtt-packet:parser').namespace;
      ${roundTrip}`);
    expect(out.quieted).toBe(false);
    expect(out.parserLogger).toBe('mqtt-packet:parser');
    expect(out.packets).toEqual([{ cmd: 'publish', topic: 'im/u/a', payload: '{"x":1}', messageId: 7 }]);
  });
});
