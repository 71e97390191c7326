import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import mqtt from 'mqtt';
import { sql, type Kysely } from 'kysely';
import { createLogger, parseConfigText, TokenIssuer, type OpenedDatabase } from '@infra/core';
// the real broker provides the real in-process bus (a test-only import: server code never imports the broker)
import { startBroker, type RunningBroker } from '@infra/broker';
import { startFulfillment, type FulfillmentHarness } from '../testing/fulfillment-harness.js';
import { openFulfillmentDb } from '../fulfillment-db.js';
import { Geofences, RiderService, type FenceEvent } from './index.js';
import { riderStore, type RiderDb } from './store.js';
import { seedStack } from '../catalog/seed.js';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const secret = 'r'.repeat(43);
const issuer = new TokenIssuer(secret);
const fleetYaml = 'fleet:\n  flushBatch: 50\n  flushMs: 200\n  staleMs: 60000\n  maxSpeedKmh: 150\n';
const dir = mkdtempSync(join(tmpdir(), 'infra-riders-'));
let broker: RunningBroker;
let h: FulfillmentHarness;
let admin: string;
let service: string;

async function device(user: string, role: 'rider' | 'service' = 'rider'): Promise<mqtt.MqttClient> {
  return mqtt.connectAsync(broker.endpoints[0]!.url, { protocolVersion: 4, username: user, password: await issuer.sign(user, role, 600), reconnectPeriod: 0 }, false);
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, fn: () => boolean | Promise<boolean>, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}
const rider = (id: string, extra: Record<string, unknown> = {}) => ({ id, name: id.toUpperCase(), vehicle: 'ebike', capacity: 3, ...extra });

beforeAll(async () => {
  const config = parseConfigText(`version: 1\nmqtt:\n  port: 0\n${fleetYaml}`, join(dir, 'infra.yaml'), {}, []);
  broker = await startBroker({ config, secrets: { jwtSecret: secret, streamKeySalt: 's'.repeat(43) }, logger: createLogger({ level: 'error' }), dataDir: join(dir, 'broker') }, { issuer });
  h = await startFulfillment({ bus: broker.bus, yaml: `version: 1\nhttp:\n  port: 0\nfulfillment:\n  rateLimit: 100000\n${fleetYaml}` });
  admin = await h.token('admin', 'admin');
  service = await h.token('dispatch', 'service');
});
afterAll(async () => {
  await h?.close();
  await broker?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('riders over HTTP', () => {
  it('creates, reads, lists and updates profiles; roles and unknown fields are enforced', async () => {
    const made = await h.call('POST', '/riders', { token: admin, body: rider('r1', { skills: ['cold_chain'], homeZone: 'mitte' }) });
    expect(made.status).toBe(201);
    expect(made.body).toMatchObject({ id: 'r1', vehicle: 'ebike', capacity: 3, load: 0, skills: ['cold_chain'], homeZone: 'mitte', merchantId: null, onDuty: false, inShift: true });
    expect((await h.call('POST', '/riders', { token: service, body: rider('r2', { merchantId: 'm1' }) })).status).toBe(201);
    const cases: [string, unknown, number, string][] = [
      [admin, rider('r1'), 409, 'INFRA_ERR_CONFLICT'],
      [admin, { ...rider('r9'), extra: 1 }, 400, 'INFRA_ERR_VALIDATION'],
      [admin, rider('r9', { vehicle: 'rocket' }), 400, 'INFRA_ERR_VALIDATION'],
      [admin, rider('r9', { capacity: 0 }), 400, 'INFRA_ERR_VALIDATION'],
      [admin, rider('bad/id'), 400, 'INFRA_ERR_VALIDATION'],
      [await h.token('u1', 'user'), rider('r9'), 403, 'INFRA_ERR_FORBIDDEN'],
      [await h.token('r9', 'rider'), rider('r9'), 403, 'INFRA_ERR_FORBIDDEN'],
    ];
    for (const [token, body, status, type] of cases) {
      const r = await h.call('POST', '/riders', { token, body });
      expect([r.status, r.body.type]).toEqual([status, type]);
    }
    expect((await h.call('GET', '/riders/r9', { token: admin })).status).toBe(404);
    const r1 = await h.token('r1', 'rider');
    expect((await h.call('GET', '/riders/r1', { token: r1 })).body.id).toBe('r1');
    expect((await h.call('GET', '/riders/r2', { token: r1 })).status).toBe(403);
    expect((await h.call('GET', '/riders', { token: r1 })).status).toBe(403);
    expect((await h.call('GET', '/riders?merchantId=m1', { token: service })).body.items.map((x: { id: string }) => x.id)).toEqual(['r2']);
    expect((await h.call('GET', '/riders?merchantId=pool', { token: service })).body.items.map((x: { id: string }) => x.id)).toEqual(['r1']);
    const patched = await h.call('PATCH', '/riders/r2', { token: service, body: { capacity: 5, skills: ['bulky'] } });
    expect(patched.body).toMatchObject({ capacity: 5, skills: ['bulky'], merchantId: 'm1' });
    expect((await h.call('PATCH', '/riders/r2', { token: service, body: {} })).status).toBe(400);
    expect((await h.call('PATCH', '/riders/r2', { token: service, body: { load: 2 } })).body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await h.call('PATCH', '/riders/r2', { token: r1, body: { capacity: 9 } })).status).toBe(403);
  });

  it('on/off duty: a rider for itself only, staff for anyone; shifts decide inShift', async () => {
    const r1 = await h.token('r1', 'rider');
    expect((await h.call('POST', '/riders/r1/duty', { token: r1, body: { onDuty: true } })).body.onDuty).toBe(true);
    expect((await h.call('POST', '/riders/r2/duty', { token: r1, body: { onDuty: true } })).status).toBe(403);
    expect((await h.call('POST', '/riders/r2/duty', { token: admin, body: { onDuty: true } })).body.onDuty).toBe(true);
    expect((await h.call('POST', '/riders/r2/duty', { token: admin, body: { onDuty: 'yes' } })).status).toBe(400);
    expect((await h.call('POST', '/riders/r2/duty', { token: r1, body: { onDuty: false } })).status).toBe(403);
    const later = new Date(Date.now() + 3600_000).toISOString();
    const end = new Date(Date.now() + 7200_000).toISOString();
    const shift = await h.call('POST', '/riders/r2/shifts', { token: service, body: { start: later, end } });
    expect(shift.status).toBe(201);
    expect((await h.call('GET', '/riders/r2', { token: service })).body.inShift).toBe(false);
    expect((await h.call('POST', '/riders/r2/shifts', { token: service, body: { start: end, end: later } })).body.type).toBe('INFRA_ERR_VALIDATION');
    expect((await h.call('GET', '/riders/r2/shifts', { token: await h.token('r2', 'rider') })).body.items).toHaveLength(1);
    expect((await h.call('DELETE', `/riders/r2/shifts/${shift.body.id}`, { token: service })).status).toBe(204);
    expect((await h.call('GET', '/riders/r2', { token: service })).body.inShift).toBe(true);
    expect((await h.call('POST', '/riders/r1/duty', { token: r1, body: { onDuty: false } })).body.onDuty).toBe(false);
  });

  it('live location over MQTT: last fix at /location; invalid fixes are dropped and do not move the rider; another rider’s topic is refused', async () => {
    const r1 = await h.token('r1', 'rider');
    expect((await h.call('GET', '/riders/r1/location', { token: r1 })).body.type).toBe('INFRA_ERR_RIDER_NO_FIX');
    const dev = await device('r1');
    const ts = Date.now() - 1000;
    await dev.publishAsync('fleet/r1/loc', JSON.stringify({ lat: 52.52, lng: 13.405, speed: 5, heading: 90, accuracy: 8, ts }), { qos: 1 });
    await until('first fix', async () => (await h.call('GET', '/riders/r1/location', { token: r1 })).status === 200);
    const first = (await h.call('GET', '/riders/r1/location', { token: service })).body;
    expect(first).toEqual({ riderId: 'r1', lat: 52.52, lng: 13.405, speed: 5, heading: 90, accuracy: 8, ts: new Date(ts).toISOString(), flagged: false });
    for (const bad of [{ lat: 95, lng: 13.4, ts: ts + 100 }, { lat: 52.6, lng: 13.4, ts: Date.now() + 3600_000 }, { lat: 52.6, lng: 13.4 }]) {
      await dev.publishAsync('fleet/r1/loc', JSON.stringify(bad), { qos: 1 });
    }
    await dev.publishAsync('fleet/r1/loc', 'garbage', { qos: 1 });
    expect(dev.connected).toBe(true);
    // a different rider publishing on r1's topic is refused (and disconnected)
    const r2dev = await device('r2');
    const closed = new Promise<void>((r) => r2dev.once('close', () => r()));
    r2dev.publish('fleet/r1/loc', JSON.stringify({ lat: 10, lng: 10, ts: Date.now() }), { qos: 1 });
    await closed;
    r2dev.end(true);
    await sleep(200);
    expect((await h.call('GET', '/riders/r1/location', { token: service })).body).toEqual(first);
    expect((await h.call('GET', '/riders/r2/location', { token: r1 })).status).toBe(403);
    await dev.endAsync(true);
    // the history was written on close and the last position comes back after a restart
    await h.restart();
    expect((await h.call('GET', '/riders/r1/location', { token: service })).body).toEqual(first);
  });

  it('nearby over HTTP: on-duty riders with fresh fixes, nearest first; staff only', async () => {
    const r1 = await h.token('r1', 'rider');
    await h.call('POST', '/riders/r1/duty', { token: r1, body: { onDuty: true } });
    const dev = await device('r2');
    await dev.publishAsync('fleet/r2/loc', JSON.stringify({ lat: 52.53, lng: 13.405, ts: Date.now() }), { qos: 1 });
    await until('r2 fix', async () => (await h.call('GET', '/riders/r2/location', { token: service })).status === 200);
    const near = await h.call('GET', '/riders/nearby?lat=52.521&lng=13.405&radiusM=3000', { token: service });
    expect(near.body.items.map((x: { id: string }) => x.id)).toEqual(['r1', 'r2']);
    expect(near.body.items[0].distanceM).toBeLessThan(near.body.items[1].distanceM);
    expect((await h.call('GET', '/riders/nearby?lat=52.521&lng=13.405&merchantId=m1', { token: service })).body.items.map((x: { id: string }) => x.id)).toEqual(['r2']);
    expect((await h.call('GET', '/riders/nearby?lat=52.521&lng=13.405&skills=cold_chain', { token: service })).body.items.map((x: { id: string }) => x.id)).toEqual(['r1']);
    expect((await h.call('GET', '/riders/nearby?lat=52.521&lng=13.405&radiusM=500', { token: service })).body.items.map((x: { id: string }) => x.id)).toEqual(['r1']);
    expect((await h.call('GET', '/riders/nearby?lat=95&lng=13.405', { token: service })).status).toBe(400);
    expect((await h.call('GET', '/riders/nearby?lat=52&lng=13', { token: r1 })).status).toBe(403);
    await h.call('POST', '/riders/r1/duty', { token: r1, body: { onDuty: false } });
    expect((await h.call('GET', '/riders/nearby?lat=52.521&lng=13.405', { token: service })).body.items.map((x: { id: string }) => x.id)).toEqual(['r2']);
    await dev.endAsync(true);
  });
});

/** A RiderService of its own over a real fulfillment.db in a temp dir, fed by the real broker's bus. */
async function standalone(yaml = fleetYaml, writer: 'thread' | 'event loop' = 'thread'): Promise<{ riders: RiderService; db: Kysely<any>; database: OpenedDatabase<unknown>; close(): Promise<void> }> {
  const d = mkdtempSync(join(dir, 'svc-'));
  const { database } = await openFulfillmentDb(d);
  const config = parseConfigText(`version: 1\n${yaml}`, join(d, 'infra.yaml'), {}, []);
  // as the server builds it: fix batches written by a thread of their own (or, without the file, on this thread)
  const riders = new RiderService(database.db as Kysely<any>, config.fleet, createLogger({ level: 'error' }), Date.now, writer === 'thread' ? { historyFile: database.file } : {});
  await riders.start(broker.bus);
  return { riders, db: database.db as Kysely<any>, database, close: async () => { await riders.close(); await database.close(); } };
}

describe('RiderService', () => {
  it('reserveCapacity never exceeds capacity under concurrency (4 threads racing on the same file), releaseCapacity never below 0', async () => {
    const s = await standalone();
    try {
      await s.riders.create(rider('cap1', { capacity: 3 }));
      // the exact statement reserveCapacity runs, from 4 worker threads with their own connections, 10 attempts each
      const q = riderStore.reserveQuery(s.db as RiderDb, 'cap1', 1, Date.now()).compile();
      const code = `
        const { parentPort, workerData } = require('node:worker_threads');
        const Database = require(workerData.driver);
        const db = new Database(workerData.file);
        db.pragma('busy_timeout = 10000');
        const stmt = db.prepare(workerData.sql);
        const start = new Int32Array(workerData.gate);
        Atomics.wait(start, 0, 0);
        let won = 0;
        for (let i = 0; i < 10; i++) if (stmt.get(...workerData.params)) won++;
        db.close();
        parentPort.postMessage(won);`;
      const gate = new SharedArrayBuffer(4);
      const driver = createRequire(import.meta.url).resolve('better-sqlite3');
      const workers = Array.from({ length: 4 }, () => new Worker(code, { eval: true, workerData: { driver, file: s.database.file, sql: q.sql, params: q.parameters, gate } }));
      const wins = workers.map((w) => new Promise<number>((resolve, reject) => { w.once('message', resolve); w.once('error', reject); }));
      await sleep(300);
      Atomics.store(new Int32Array(gate), 0, 1);
      Atomics.notify(new Int32Array(gate), 0);
      expect((await Promise.all(wins)).reduce((a, b) => a + b, 0)).toBe(3);
      await Promise.all(workers.map((w) => w.terminate()));
      expect(Number((await s.db.selectFrom('riders').select('load').where('id', '=', 'cap1').executeTakeFirstOrThrow()).load)).toBe(3);
      // through the service: full is full, unknown riders are refused
      expect(await s.riders.reserveCapacity(s.db, 'cap1', 1)).toBe(false);
      expect(await s.riders.reserveCapacity(s.db, 'nobody', 1)).toBe(false);
      await s.riders.flush(true); // resync the in-memory load written by the threads
      expect(s.riders.get('cap1', { id: 'x', role: 'admin' }).load).toBe(3);
      await expect(s.riders.update('cap1', { capacity: 2 })).rejects.toMatchObject({ code: 'INFRA_ERR_RIDER_CAPACITY' });
      // concurrent reservations through the service on one connection: exactly the free places are taken
      await s.riders.releaseCapacity(s.db, 'cap1', 3);
      const results = await Promise.all(Array.from({ length: 10 }, () => s.db.transaction().execute((trx) => s.riders.reserveCapacity(trx, 'cap1', 2))));
      expect(results.filter(Boolean)).toHaveLength(1);
      // a reservation whose transaction rolls back leaves nothing behind (memory resyncs on the next writer tick)
      await s.db.transaction().execute(async (trx) => {
        expect(await s.riders.reserveCapacity(trx, 'cap1', 1)).toBe(true);
        throw new Error('rollback');
      }).catch(() => undefined);
      await s.riders.flush(true);
      expect(s.riders.get('cap1', { id: 'x', role: 'admin' }).load).toBe(2);
      await s.riders.releaseCapacity(s.db, 'cap1', 5);
      expect(s.riders.get('cap1', { id: 'x', role: 'admin' }).load).toBe(0);
    } finally {
      await s.close();
    }
  });

  it('flags a jump at impossible speed: stored as flagged, the position does not move, handlers see it marked', async () => {
    const s = await standalone();
    try {
      const seen: boolean[] = [];
      s.riders.onFix((f) => f.riderId === 'jmp' && seen.push(f.flagged === true));
      const dev = await device('jmp');
      const t = Date.now() - 30_000;
      await dev.publishAsync('fleet/jmp/loc', JSON.stringify({ lat: 52.52, lng: 13.405, ts: t }), { qos: 1 });
      await dev.publishAsync('fleet/jmp/loc', JSON.stringify({ lat: 48.137, lng: 11.575, ts: t + 2000 }), { qos: 1 });
      await until('two fixes', () => seen.length === 2);
      expect(seen).toEqual([false, true]);
      expect(s.riders.stats.flagged).toBe(1);
      expect(s.riders.position('jmp')).toMatchObject({ lat: 52.52, lng: 13.405 });
      await s.riders.flush(true);
      const rows = await s.db.selectFrom('rider_fixes').select(['ts', 'flagged']).where('rider_id', '=', 'jmp').orderBy('ts').execute();
      expect(rows.map((r) => Number(r.flagged))).toEqual([0, 1]);
      await dev.endAsync(true);
    } finally {
      await s.close();
    }
  });

  it('nearest search returns riders by distance and excludes off-duty, full, stale, off-shift and other merchants’ riders', async () => {
    const s = await standalone();
    try {
      const admin = { id: 'a', role: 'admin' as const };
      const centre = { lat: 52.52, lng: 13.405 };
      // id, metres north of the centre
      const spots: [string, number][] = [['near', 300], ['mid', 1200], ['far', 2500], ['off', 100], ['full', 150], ['stale', 200], ['noshift', 250], ['merch', 400], ['outside', 9000]];
      for (const [id] of spots) {
        await s.riders.create(rider(id, { capacity: 1, ...(id === 'merch' ? { merchantId: 'm7' } : {}) }));
        if (id !== 'off') await s.riders.onDuty(id, admin);
      }
      await s.riders.reserveCapacity(s.db, 'full', 1);
      await s.riders.addShift('noshift', { start: new Date(Date.now() - 7200_000).toISOString(), end: new Date(Date.now() - 3600_000).toISOString() });
      const devs = await Promise.all(spots.map(([id]) => device(id)));
      await Promise.all(spots.map(([id, north], i) => devs[i]!.publishAsync(`fleet/${id}/loc`, JSON.stringify({ lat: centre.lat + north / 111_195, lng: centre.lng, ts: id === 'stale' ? Date.now() - 120_000 : Date.now() }), { qos: 1 })));
      await until('all fixes', () => spots.every(([id]) => s.riders.position(id) !== undefined));
      const found = s.riders.available({ near: centre, radiusM: 5000 });
      expect(found.map((f) => f.id)).toEqual(['near', 'merch', 'mid', 'far']);
      expect(found[0]!.distanceM).toBeGreaterThan(280);
      expect(found[0]!.distanceM).toBeLessThan(320);
      expect(s.riders.available({ near: centre, radiusM: 5000, limit: 2 }).map((f) => f.id)).toEqual(['near', 'merch']);
      expect(s.riders.available({ near: centre, merchantId: null }).map((f) => f.id)).toEqual(['near', 'mid', 'far']);
      expect(s.riders.available({ near: centre, merchantId: 'm7' }).map((f) => f.id)).toEqual(['merch']);
      expect(s.riders.available({ near: centre, radiusM: 20_000 }).map((f) => f.id)).toEqual(['near', 'merch', 'mid', 'far', 'outside']);
      await s.riders.releaseCapacity(s.db, 'full', 1);
      expect(s.riders.available({ near: centre, limit: 1 }).map((f) => f.id)).toEqual(['full']);
      await Promise.all(devs.map((d) => d.endAsync(true)));
    } finally {
      await s.close();
    }
  });

  it.each(['thread', 'event loop'] as const)('writes fixes in batches (writer on the %s): after N fixes the rows are in SQL with far fewer transactions than fixes; close flushes the rest', async (writer) => {
    const s = await standalone('fleet:\n  flushBatch: 50\n  flushMs: 60000\n', writer);
    try {
      // flushing an empty buffer settles, and so does the next flush (a stale writer promise once looped forever here)
      await s.riders.flush(true);
      await s.riders.flush(true);
      const dev = await device('batcher');
      const t = Date.now() - 20_000;
      for (let i = 0; i < 120; i++) dev.publish('fleet/batcher/loc', JSON.stringify({ lat: 52.5 + i * 1e-5, lng: 13.4, ts: t + i * 100, ...(i === 0 ? { speed: 4.5, heading: 90, accuracy: 7 } : {}) }), { qos: 0 });
      await until('120 fixes received', () => s.riders.stats.accepted === 120);
      // 100 reached SQL in 2 full batches without waiting for the timer (60 s here); 20 wait in the buffer
      await until('two batches', () => s.riders.stats.batches === 2);
      expect(await s.riders.storedFixes('batcher')).toBe(100);
      await s.riders.close();
      expect(await s.riders.storedFixes('batcher')).toBe(120);
      expect(s.riders.stats.batches).toBe(3);
      expect(s.riders.stats.persisted).toBe(120);
      // every column as published; absent optional fields are NULL
      const rows = await s.db.selectFrom('rider_fixes').selectAll().where('rider_id', '=', 'batcher').orderBy('ts').limit(2).execute();
      expect(rows.map((r) => ({ ...r, ts: Number(r.ts), received_at: typeof r.received_at }))).toEqual([
        { rider_id: 'batcher', ts: t, lat: 52.5, lng: 13.4, speed: 4.5, heading: 90, accuracy: 7, flagged: 0, received_at: 'number' },
        { rider_id: 'batcher', ts: t + 100, lat: 52.50001, lng: 13.4, speed: null, heading: null, accuracy: null, flagged: 0, received_at: 'number' },
      ]);
      await dev.endAsync(true);
    } finally {
      await s.close();
    }
  });

  it.each(['thread', 'event loop'] as const)('keeps fixes whose write failed, bounded by bufferMax (the oldest given up, counted), and writes them once SQL is back (writer on the %s)', async (writer) => {
    const s = await standalone('fleet:\n  flushBatch: 50\n  bufferMax: 100\n  flushMs: 60000\n', writer);
    try {
      await sql`alter table rider_fixes rename to rider_fixes_away`.execute(s.db);
      const dev = await device('unlucky');
      const t = Date.now() - 30_000;
      for (let i = 0; i < 250; i++) dev.publish('fleet/unlucky/loc', JSON.stringify({ lat: 52.5 + i * 1e-5, lng: 13.4, ts: t + i * 100 }), { qos: 0 });
      await until('250 fixes received', () => s.riders.stats.accepted === 250);
      await s.riders.flush(true); // fails too: nothing written
      expect(s.riders.stats.persisted).toBe(0);
      await sql`alter table rider_fixes_away rename to rider_fixes`.execute(s.db);
      await s.riders.flush(true);
      expect(s.riders.stats).toMatchObject({ persisted: 100, bufferDropped: 150 });
      const rows = await s.db.selectFrom('rider_fixes').select('ts').where('rider_id', '=', 'unlucky').orderBy('ts').execute();
      expect(rows.map((r) => (Number(r.ts) - t) / 100)).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i));
      await dev.endAsync(true);
    } finally {
      await s.close();
    }
  });

  it('never makes a transaction of this process fail while the thread writes batches (each one reads, pauses, then writes)', async () => {
    const s = await standalone('fleet:\n  flushBatch: 200\n  flushMs: 60000\n');
    let writing = true;
    try {
      let ts = Date.now() - 1_000_000;
      const feeder = (async () => {
        while (writing) {
          for (let i = 0; i < 200; i++) s.riders.ingest(`fleet/snap${i}/loc`, Buffer.from(JSON.stringify({ lat: 52.5, lng: 13.4, ts: (ts += 1) })));
          await sleep(5);
        }
      })();
      const outcomes: string[] = [];
      for (let k = 0; k < 100; k++) {
        outcomes.push(await s.db.transaction().execute(async (trx) => {
          await trx.selectFrom('riders').select('id').limit(1).execute();
          await sleep(3);
          await trx.insertInto('riders').values({ id: `snapped-${k}`, name: 'n', vehicle: 'bike', capacity: 1, load: 0, skills: '[]', home_zone: null, merchant_id: null, on_duty: 0, created_at: 0, updated_at: 0 }).execute();
        }).then(() => 'ok', (err: { code?: string }) => err.code ?? 'error'));
      }
      writing = false;
      await feeder;
      expect(s.riders.stats.batches).toBeGreaterThan(10);
      expect(outcomes.filter((o) => o !== 'ok')).toEqual([]);
    } finally {
      writing = false;
      await s.close();
    }
  });

  it('fleet.historyRetention deletes fixes older than it, rider by rider in batches, never younger than fleet.maxAgeMs; empty keeps every fix', async () => {
    const d = mkdtempSync(join(dir, 'retention-'));
    const { database } = await openFulfillmentDb(d);
    const db = database.db as unknown as RiderDb;
    const now = Date.now();
    const day = 86_400_000;
    for (const id of ['old', 'mixed', 'young']) await riderStore.insert(db, { id, name: id, vehicle: 'bike', capacity: 5, load: 0, skills: '[]', home_zone: null, merchant_id: null, on_duty: 0, created_at: now, updated_at: now });
    const fixes = (riderId: string, from: number, n: number, step: number) => Array.from({ length: n }, (_, i) => ({ rider_id: riderId, ts: from + i * step, lat: 52.5, lng: 13.4, speed: null, heading: null, accuracy: null, flagged: 0, received_at: from + i * step }));
    await riderStore.insertFixes(db, fixes('old', now - 10 * day, 1200, 1000)); // all ten days old
    await riderStore.insertFixes(db, [...fixes('mixed', now - 3 * day, 300, 1000), ...fixes('mixed', now - 30 * 60_000, 40, 1000)]); // 3 days old, then 30 min old
    await riderStore.insertFixes(db, fixes('young', now - 50 * 60_000, 30, 1000)); // 50 min old: younger than maxAgeMs (1 h)
    const start = async (yaml: string): Promise<RiderService> => {
      const config = parseConfigText(`version: 1\n${yaml}`, join(d, 'infra.yaml'), {}, []);
      const riders = new RiderService(database.db as Kysely<any>, config.fleet, createLogger({ level: 'error' }));
      await riders.start();
      return riders;
    };
    try {
      // keep everything: no sweep
      const keep = await start("fleet:\n  historyRetention: ''\n");
      expect(await keep.pruneHistory()).toBe(0);
      await keep.close();
      expect(await riderStore.countFixes(db)).toBe(1570);
      // 10 minutes asked, but fleet.maxAgeMs (1 h) is the floor: the 30 and 50 minute old fixes stay
      const riders = await start('fleet:\n  historyRetention: 10m\n');
      await riders.pruneHistory(); // the sweep start() began
      expect(await riderStore.countFixes(db, 'old')).toBe(0);
      expect(await riderStore.countFixes(db, 'mixed')).toBe(40);
      expect(await riderStore.countFixes(db, 'young')).toBe(30);
      // a long history goes in batches (500, 500, 200 here), oldest first, and the count comes back
      await riderStore.insertFixes(db, fixes('old', now - 5 * day, 1200, 1000));
      expect(await riders.pruneHistory(500)).toBe(1200);
      expect(await riderStore.countFixes(db)).toBe(70);
      await riders.close();
    } finally {
      await database.close();
    }
  });

  it('geofences raise enter and exit for circles and polygons (per rider or for everyone)', async () => {
    const s = await standalone();
    const fences = new Geofences(s.riders);
    try {
      const events: FenceEvent[] = [];
      const push = (e: FenceEvent) => events.push(e);
      fences.watch({ id: 'pickup', riderId: 'geo', center: { lat: 52.52, lng: 13.405 }, radiusM: 100 }, push);
      const unwatch = fences.watch({ id: 'square', polygon: [[52.53, 13.40], [52.53, 13.41], [52.54, 13.41], [52.54, 13.40]] }, push);
      expect(() => fences.watch({ id: 'nothing' }, push)).toThrow();
      const dev = await device('geo');
      const t = Date.now() - 600_000;
      const step = 60_000; // a minute between fixes: a plausible speed (a flagged jump would not count)
      const path: [number, number][] = [[52.515, 13.405], [52.5199, 13.405], [52.5201, 13.405], [52.525, 13.405], [52.535, 13.405], [52.545, 13.405]];
      for (const [i, [lat, lng]] of path.entries()) await dev.publishAsync('fleet/geo/loc', JSON.stringify({ lat, lng, ts: t + i * step }), { qos: 1 });
      await until('events', () => events.length === 4);
      expect(events.map((e) => [e.fenceId, e.kind, (e.at - t) / step])).toEqual([['pickup', 'enter', 1], ['pickup', 'exit', 3], ['square', 'enter', 4], ['square', 'exit', 5]]);
      unwatch();
      await dev.publishAsync('fleet/geo/loc', JSON.stringify({ lat: 52.535, lng: 13.405, ts: t + 6 * step }), { qos: 1 });
      await sleep(150);
      expect(events).toHaveLength(4);
      await dev.endAsync(true);
    } finally {
      fences.close();
      await s.close();
    }
  });
});

describe('infra seed', () => {
  it('loads the delivery template’s riders once (hub as home zone); a bad rider entry is refused with its path', async () => {
    const stack = mkdtempSync(join(dir, 'seed-'));
    cpSync(fileURLToPath(new URL('../../../../templates/delivery/seed', import.meta.url)), join(stack, 'seed'), { recursive: true });
    expect(await seedStack({ stackDir: stack, dataDir: join(stack, 'data') })).toMatchObject({ riders: 2, skipped: 0 });
    expect(await seedStack({ stackDir: stack, dataDir: join(stack, 'data') })).toMatchObject({ riders: 0, skipped: 2 });
    const { database } = await openFulfillmentDb(join(stack, 'data'));
    try {
      const rows = await (database.db as Kysely<any>).selectFrom('riders').select(['id', 'capacity', 'vehicle', 'home_zone', 'on_duty']).orderBy('id').execute();
      expect(rows).toEqual([
        { id: 'rider-1', capacity: 3, vehicle: 'bicycle', home_zone: 'HUB1', on_duty: 0 },
        { id: 'rider-2', capacity: 2, vehicle: 'bicycle', home_zone: 'HUB1', on_duty: 0 },
      ]);
    } finally {
      await database.close();
    }
    const bad = mkdtempSync(join(dir, 'seed-bad-'));
    mkdirSync(join(bad, 'seed'));
    writeFileSync(join(bad, 'seed', 'r.yaml'), 'riders:\n  - { id: r1, name: A, capacity: 0 }\n');
    await expect(seedStack({ stackDir: bad, dataDir: join(bad, 'data') })).rejects.toMatchObject({ code: 'INFRA_ERR_VALIDATION', details: [expect.objectContaining({ path: '/riders/0/capacity' })] });
  });
});
