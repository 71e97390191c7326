import { createRequire } from 'node:module';

/**
 * mqtt-packet (aedes' parser and writer) calls `debug(...)` dozens of times per packet parsed or written. The `debug`
 * package's logger is `function debug(...args)` and checks whether it is enabled only after gathering its arguments
 * into an array, so every call allocates even with logging off: a fifth of the bytes the broker allocated per IM
 * send (20 → 16 KB in `bench:im`), all garbage for the scavenger.
 *
 * Called by startBroker before it imports aedes: mqtt-packet creates its loggers when it loads, through the `debug`
 * module it resolves, and here that module's factory hands mqtt-packet's namespaces a no-op when they are not enabled
 * at that moment (DEBUG=mqtt-packet:* set at start still logs; enabling it later at run time does not). Every other
 * namespace and every property of the factory (enable, disable, formatters...) is the real one (a Proxy).
 * When something loaded mqtt-packet earlier in the process (an MQTT.js client, say) nothing changes and nothing
 * breaks: the result says whether mqtt-packet's loggers are quiet. Idempotent.
 * Relies on mqtt-packet 9 / debug 4 (resolved through aedes, pinned in package.json).
 */
export function quietMqttPacketDebug(): boolean {
  try {
    const fromBroker = createRequire(import.meta.url);
    const fromAedes = createRequire(fromBroker.resolve('aedes'));
    const mqttPacket = fromAedes.resolve('mqtt-packet');
    const fromMqttPacket = createRequire(mqttPacket);
    const debugPath = fromMqttPacket.resolve('debug');
    const loaded = fromAedes.cache[mqttPacket] !== undefined;
    const createDebug = fromMqttPacket('debug') as ((namespace: string) => { enabled: boolean }) & { __infraQuiet?: true };
    if (createDebug.__infraQuiet) return true; // done before mqtt-packet loaded
    if (loaded) return false; // its loggers exist already
    const cached = fromMqttPacket.cache[debugPath];
    if (!cached || typeof createDebug !== 'function') return false;
    const noop = Object.assign(() => undefined, { enabled: false, namespace: 'mqtt-packet (quiet)', extend: () => noop, destroy: () => undefined });
    cached.exports = new Proxy(createDebug, {
      apply(target, thisArg, args: [string, ...unknown[]]) {
        const made = Reflect.apply(target, thisArg, args) as { enabled: boolean };
        return typeof args[0] === 'string' && args[0].startsWith('mqtt-packet:') && !made.enabled ? noop : made;
      },
      get(target, key, receiver) {
        return key === '__infraQuiet' ? true : Reflect.get(target, key, receiver);
      },
    });
    return true;
  } catch {
    return false; // a layout this does not know: loggers stay as they are
  }
}
