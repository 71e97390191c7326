import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from 'node:net';
import mqtt from 'mqtt';
import mqttPacket from 'mqtt-packet';
import type { PresenceState } from '@infra/core/topics';
import { inbox, issuer, startTestStack, type TestStack } from '../../test/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
  await stack.http('POST', '/im/conversations', 'pat', { kind: 'direct', members: ['quinn'] });
});
afterAll(async () => stack.close());

describe('presence/{userId}', () => {
  it('follows devices: a second device keeps the user online, the last one leaving turns it offline', async () => {
    const watcher = await stack.mqtt('quinn');
    const box = inbox(watcher);
    const states = (): PresenceState[] => box.seen.filter((e) => e.topic === 'presence/pat').map((e) => e.data as unknown as PresenceState);
    const latest = (pred: (s: PresenceState) => boolean) => box.next((e) => e.topic === 'presence/pat' && pred(e.data as unknown as PresenceState));
    await watcher.subscribeAsync('presence/pat', { qos: 1 });

    const phone = await stack.mqtt('pat', { clientId: 'pat-phone' });
    expect((await latest((s) => s.devices.length === 1)).data).toMatchObject({ userId: 'pat', status: 'online', devices: [{ clientId: 'pat-phone' }] });
    const laptop = await stack.mqtt('pat', { clientId: 'pat-laptop' });
    await latest((s) => s.devices.length === 2);
    await phone.endAsync();
    expect((await latest((s) => s.devices.length === 1 && s.devices[0]?.clientId === 'pat-laptop')).data['status']).toBe('online');

    // a device may say it is away; it cannot forge the device list
    await laptop.publishAsync('presence/pat', JSON.stringify({ status: 'away', devices: [{ clientId: 'fake' }] }), { qos: 1 });
    expect((await latest((s) => s.status === 'away')).data['devices']).toMatchObject([{ clientId: 'pat-laptop' }]);
    await laptop.endAsync();
    const off = await latest((s) => s.status === 'offline');
    expect(off.data['devices']).toEqual([]);
    expect(Date.parse(off.data['lastSeen'] as string)).toBeGreaterThan(Date.now() - 10_000);

    // retained: a late subscriber gets the current state at once
    const late = await stack.mqtt('quinn', { clientId: 'quinn-2' });
    const lateBox = inbox(late);
    await late.subscribeAsync('presence/pat', { qos: 1 });
    expect((await lateBox.next((e) => e.topic === 'presence/pat')).data['status']).toBe('offline');
    expect(states().length).toBeGreaterThanOrEqual(4);
    await late.endAsync();
    await watcher.endAsync();
  });

  it('turns an abruptly vanished device offline through the keepalive', async () => {
    const watcher = await stack.mqtt('quinn');
    const box = inbox(watcher);
    await watcher.subscribeAsync('presence/pat', { qos: 1 });
    // a raw TCP client that sends CONNECT with a 1 s keepalive and then never speaks again (no PINGREQ, no DISCONNECT)
    const url = new URL(stack.mqttUrl);
    const socket = connect(Number(url.port), url.hostname);
    socket.on('error', () => undefined);
    socket.write(mqttPacket.generate({ cmd: 'connect', protocolId: 'MQTT', protocolVersion: 4, clean: true, clientId: 'pat-flaky', keepalive: 1, username: 'pat', password: Buffer.from(await stack.token('pat')) }));
    await box.next((e) => (e.data['devices'] as { clientId: string }[] | undefined)?.some((d) => d.clientId === 'pat-flaky') === true);
    const t0 = Date.now();
    const from = box.seen.length;
    await box.next((e) => box.seen.indexOf(e) >= from && e.topic === 'presence/pat' && e.data['status'] === 'offline', 6000);
    // MQTT 3.1.1: the server disconnects after 1.5 × keepalive
    expect(Date.now() - t0).toBeGreaterThan(1000);
    expect(Date.now() - t0).toBeLessThan(4000);
    socket.destroy();
    await watcher.endAsync();
  });

  it('gives merchant staff the same broker-kept presence: their own publish cannot forge it', async () => {
    const watcher = await stack.mqtt('svc-watch', { role: 'service' });
    const box = inbox(watcher);
    await watcher.subscribeAsync('presence/mia', { qos: 1 });
    const staff = await mqtt.connectAsync(stack.mqttUrl, { protocolVersion: 4, clientId: 'mia-till', username: 'mia', password: await issuer.sign('mia', 'merchant', 600, Date.now(), { merchant: 'shop-1' }), reconnectPeriod: 0 });
    await box.next((e) => e.topic === 'presence/mia' && e.data['status'] === 'online');
    await staff.publishAsync('presence/mia', JSON.stringify({ status: 'away', devices: [{ clientId: 'fake' }] }), { qos: 1 });
    expect((await box.next((e) => e.topic === 'presence/mia' && e.data['status'] === 'away')).data['devices']).toMatchObject([{ clientId: 'mia-till' }]);
    await staff.endAsync();
    await box.next((e) => e.topic === 'presence/mia' && e.data['status'] === 'offline');
    await watcher.endAsync();
  });

  it('shows presence only to users who share a conversation', async () => {
    const stranger = await stack.mqtt('rex');
    let code: number | undefined;
    try {
      code = (await stranger.subscribeAsync('presence/pat', { qos: 1 }))[0]?.qos;
    } catch (err) {
      code = (err as { packet?: { granted?: number[] } }).packet?.granted?.[0];
    }
    expect(code).toBe(128);
    const closed = new Promise<void>((r) => stranger.once('close', () => r()));
    stranger.publish('presence/pat', '{"status":"online"}', { qos: 1 });
    await closed;
    stranger.end(true);
  });
});
