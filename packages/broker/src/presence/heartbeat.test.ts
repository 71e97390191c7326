import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { PresenceState } from '@infra/core/topics';
import { inbox, sleep, startTestStack, type TestStack } from '../../test/stack.js';

// im.heartbeat 2 s: a connection the keepalive does not bound is closed after 3 s of silence
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ yaml: 'im:\n  heartbeat: 2s\n' });
  for (const u of ['sam', 'tia', 'uma']) await stack.http('POST', '/im/conversations', 'watch', { kind: 'direct', members: [u] });
});
afterAll(async () => stack.close());

/** a watcher that shares a conversation with `user`; resolves when `user` is shown offline, with the time it took from `since` */
async function watch(user: string) {
  // keepalive 1 s, inside the 2 s heartbeat: the watcher itself must not be the silent client the broker closes
  const watcher = await stack.mqtt('watch', { clientId: `watch-${user}`, keepalive: 1 });
  const box = inbox(watcher);
  await watcher.subscribeAsync(`presence/${user}`, { qos: 1 });
  const states = () => box.seen.filter((e) => e.topic === `presence/${user}`).map((e) => e.data as unknown as PresenceState);
  return {
    online: (clientId: string) => box.next((e) => e.topic === `presence/${user}` && (e.data as unknown as PresenceState).devices.some((d) => d.clientId === clientId)),
    offlineAfter: async (since: number, timeoutMs: number) => {
      await box.next((e) => e.topic === `presence/${user}` && (e.data as unknown as PresenceState).status === 'offline' && states().some((s) => s.status === 'online'), timeoutMs);
      return Date.now() - since;
    },
    states,
    close: () => watcher.endAsync(),
  };
}

describe('im.heartbeat', () => {
  it('is served to devices at GET /api/v1/im/settings (authenticated)', async () => {
    const r = await stack.http<{ heartbeatSeconds: number }>('GET', '/im/settings', 'sam');
    expect(r.status).toBe(200);
    expect(r.body.heartbeatSeconds).toBe(2);
    expect((await fetch(`${stack.apiUrl}/im/settings`)).status).toBe(401);
  });

  it('shows an MQTT.js client with keepalive 0 offline after 1.5 × heartbeat of silence (the keepalive alone never would)', async () => {
    const w = await watch('sam');
    const silent = await stack.mqtt('sam', { clientId: 'sam-k0', keepalive: 0 });
    await w.online('sam-k0');
    const t0 = Date.now();
    const closed = new Promise<void>((r) => silent.once('close', () => r()));
    const took = await w.offlineAfter(t0, 8000);
    expect(took).toBeGreaterThan(2500);
    expect(took).toBeLessThan(6000);
    await closed; // the broker closed the connection (CONNACK was 0; MQTT 3.1.1 lets a server drop an inactive client)
    silent.end(true);
    await w.close();
  });

  it('holds a raw client that asked for a longer keepalive (600 s) and never pings to the heartbeat too', async () => {
    const w = await watch('tia');
    const url = new URL(stack.mqttUrl);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    const connack = new Promise<number>((resolve) => {
      const parser = mqttPacket.parser({ protocolVersion: 4 });
      parser.on('packet', (p) => p.cmd === 'connack' && resolve((p as { returnCode: number }).returnCode));
      socket.on('data', (d) => parser.parse(d));
    });
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'tia-raw', keepalive: 600, username: 'tia', password: Buffer.from(await stack.token('tia')) }));
    expect(await connack).toBe(0);
    await w.online('tia-raw');
    const took = await w.offlineAfter(Date.now(), 8000);
    expect(took).toBeGreaterThan(2000);
    expect(took).toBeLessThan(6000);
    socket.destroy();
    await w.close();
  });

  it('keeps conforming clients online: keepalive within the heartbeat, or keepalive 0 but talking', async () => {
    const w = await watch('uma');
    const pinging = await stack.mqtt('uma', { clientId: 'uma-k2', keepalive: 2 });
    const talking = await stack.mqtt('uma', { clientId: 'uma-talk', keepalive: 0 });
    await w.online('uma-talk');
    const talk = setInterval(() => talking.publish('presence/uma', JSON.stringify({ status: 'online' }), { qos: 0 }), 1000);
    await sleep(7500); // 2.5 × the 3 s bound
    clearInterval(talk);
    expect(pinging.connected && talking.connected).toBe(true);
    expect(w.states().filter((s) => s.status === 'offline')).toEqual([]);
    expect(w.states().at(-1)?.devices.map((d) => d.clientId).sort()).toEqual(['uma-k2', 'uma-talk']);
    await pinging.endAsync();
    await talking.endAsync();
    await w.close();
  });

  it('leaves backends (service tokens) with keepalive 0 alone', async () => {
    const backend = await mqtt.connectAsync(stack.mqttUrl, { protocolVersion: 4, username: 'svc', password: await stack.token('svc', 'service'), keepalive: 0, reconnectPeriod: 0 });
    await sleep(4000);
    expect(backend.connected).toBe(true);
    await backend.endAsync();
  });
});
