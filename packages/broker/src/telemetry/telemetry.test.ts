import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mqtt from 'mqtt';
import type { BusMessage } from '@infra/core';
import { validatedFix } from '@infra/core/topics';
import type { RunningBroker } from '../broker.js';
import { startTestStack, type TestStack } from '../../test/stack.js';
import { DROPPED_FIX_TOPIC } from './gate.js';

let stack: TestStack;
let broker: RunningBroker;

beforeAll(async () => {
  stack = await startTestStack({ yaml: 'fleet:\n  maxSpeedKmh: 150\n', http: false });
  broker = stack.broker;
});
afterAll(async () => stack.close());

const client = (user: string, role: 'user' | 'rider' | 'service'): Promise<mqtt.MqttClient> => stack.mqtt(user, { role });
const settle = () => new Promise((r) => setTimeout(r, 150));
const fixes = async () => (await broker.health())['fixes'] as { accepted: number; dropped: number; flagged: number; droppedBy: Record<string, number> };

describe('telemetry gate on fleet/{riderId}/loc', () => {
  it('a rider cannot publish on another rider’s topic: refused, disconnected, delivered to nobody', async () => {
    const seen: BusMessage[] = [];
    const off = await broker.bus.subscribe('fleet/#', (m) => seen.push(m));
    const rider = await client('tr2', 'rider');
    const closed = new Promise<void>((r) => rider.once('close', () => r()));
    rider.publish('fleet/tr1/loc', JSON.stringify({ lat: 1, lng: 1, ts: Date.now() }), { qos: 1 });
    await closed;
    await settle();
    expect(seen).toEqual([]);
    await off();
    rider.end(true);
  });

  it('drops invalid fixes without disconnecting the rider (QoS 1 still acknowledged); valid ones pass; none retained', async () => {
    const bus: BusMessage[] = [];
    const off = await broker.bus.subscribe('fleet/+/loc', (m) => bus.push(m));
    const watcher = await client('fleet-svc', 'service');
    const viaMqtt: string[] = [];
    const dropped: string[] = [];
    watcher.on('message', (t, p) => {
      if (t === DROPPED_FIX_TOPIC) dropped.push(p.toString());
      else if (t.startsWith('fleet/') || t.startsWith('$')) viaMqtt.push(p.toString());
    });
    await watcher.subscribeAsync(['fleet/+/loc', '#', DROPPED_FIX_TOPIC], { qos: 0 });
    const rider = await client('tr3', 'rider');
    let closed = false;
    rider.on('close', () => (closed = true));
    const before = await fixes();
    const now = Date.now();
    const bad = [
      'not json',
      '[1,2]',
      JSON.stringify({ lat: 91, lng: 0, ts: now }),
      JSON.stringify({ lat: 0, lng: -181, ts: now }),
      JSON.stringify({ lat: '1', lng: 0, ts: now }),
      JSON.stringify({ lat: 1, lng: 1 }),
      JSON.stringify({ lat: 1, lng: 1, ts: now + 10 * 60_000 }), // from the future
      JSON.stringify({ lat: 1, lng: 1, ts: now - 2 * 3600_000 }), // absurdly old
      JSON.stringify({ lat: 1, lng: 1, ts: now, speed: -3 }),
      JSON.stringify({ lat: 1, lng: 1, ts: now, heading: 400 }),
      JSON.stringify({ lat: 1, lng: 1, ts: now, pad: 'x'.repeat(600) }), // over fleet.maxFixBytes
    ];
    for (const p of bad) await rider.publishAsync('fleet/tr3/loc', p, { qos: 1 }); // each one PUBACKed
    const good = JSON.stringify({ lat: 48.1, lng: 11.5, ts: now, speed: 4 });
    await rider.publishAsync('fleet/tr3/loc', good, { qos: 1, retain: true });
    await settle();
    expect(closed).toBe(false);
    expect(bus.map((m) => m.payload.toString())).toEqual([good]);
    expect(viaMqtt).toEqual([good]); // overlapping fleet/+/loc and '#' deliver once; '#' never matches the $ topic
    expect(dropped).toHaveLength(bad.length); // a backend may watch the drops explicitly
    const after = await fixes();
    expect(after.dropped - before.dropped).toBe(bad.length);
    expect(after.accepted - before.accepted).toBe(1);
    expect(Object.keys(after.droppedBy).sort()).toEqual(['bad_heading', 'bad_lat_lng', 'bad_speed', 'bad_ts', 'future_ts', 'not_json', 'stale_ts', 'too_large']);
    // not retained: a late subscriber gets nothing
    const late = await client('late-svc', 'service');
    const got: string[] = [];
    late.on('message', (_t, p) => got.push(p.toString()));
    await late.subscribeAsync('fleet/tr3/loc');
    await settle();
    expect(got).toEqual([]);
    await Promise.all([late.endAsync(true), rider.endAsync(true), watcher.endAsync(true)]);
    await off();
  });

  it('flags a jump at impossible speed (accepted, marked "flag":"speed", counted); the track continues from plausible fixes', async () => {
    const bus: unknown[] = [];
    const off = await broker.bus.subscribe('fleet/tr4/loc', (m) => bus.push(JSON.parse(m.payload.toString())));
    const rider = await client('tr4', 'rider');
    const before = await fixes();
    const t = Date.now() - 60_000;
    await rider.publishAsync('fleet/tr4/loc', JSON.stringify({ lat: 52.52, lng: 13.405, ts: t }), { qos: 1 });
    await rider.publishAsync('fleet/tr4/loc', JSON.stringify({ lat: 52.5205, lng: 13.405, ts: t + 5000 }), { qos: 1 }); // 55 m in 5 s
    await rider.publishAsync('fleet/tr4/loc', JSON.stringify({ lat: 48.137, lng: 11.575, ts: t + 10_000 }), { qos: 1 }); // Munich 5 s later
    await rider.publishAsync('fleet/tr4/loc', JSON.stringify({ lat: 52.521, lng: 13.405, ts: t + 15_000 }), { qos: 1 }); // back on track
    await settle();
    expect(bus).toHaveLength(4);
    expect(bus.map((f) => (f as { flag?: string }).flag)).toEqual([undefined, undefined, 'speed', undefined]);
    expect((await fixes()).flagged - before.flagged).toBe(1);
    await rider.endAsync(true);
    await off();
  });

  it('hands the gate’s result to in-process subscribers with the payload (the server need not parse it again); nothing else carries it', async () => {
    const bus: { payload: unknown; handed: unknown }[] = [];
    const off = await broker.bus.subscribe('fleet/tr5/loc', (m) => bus.push({ payload: JSON.parse(m.payload.toString()), handed: validatedFix(m.payload) }));
    const rider = await client('tr5', 'rider');
    const t = Date.now() - 60_000;
    await rider.publishAsync('fleet/tr5/loc', JSON.stringify({ lat: 52.52, lng: 13.405, ts: t + 0.4, speed: 3, extra: 'dropped by the parser' }), { qos: 1 });
    await rider.publishAsync('fleet/tr5/loc', JSON.stringify({ lat: 48.137, lng: 11.575, ts: t + 5000 }), { qos: 1 }); // flagged: the rewritten payload carries it
    await broker.bus.publish('fleet/tr5/loc', JSON.stringify({ lat: 1, lng: 1, ts: t + 9000 })); // not through the gate
    await settle();
    expect(bus.map((m) => m.handed)).toEqual([
      { lat: 52.52, lng: 13.405, ts: t, speed: 3 },
      { lat: 48.137, lng: 11.575, ts: t + 5000, flag: 'speed' },
      undefined,
    ]);
    expect(bus[1]!.payload).toEqual(bus[1]!.handed);
    await rider.endAsync(true);
    await off();
  });

  it('leaves other topics alone (a service publishing elsewhere is not parsed)', async () => {
    const seen: string[] = [];
    const off = await broker.bus.subscribe('fleetwide/#', (m) => seen.push(m.payload.toString()));
    const svc = await client('svc-x', 'service');
    await svc.publishAsync('fleetwide/notice', 'not json at all', { qos: 1 });
    await settle();
    expect(seen).toEqual(['not json at all']);
    await svc.endAsync(true);
    await off();
  });
});
