import { InfraError, newId, parseDuration, sweepHourly, type EventBus, type InfraConfig, type Logger, type Role } from '@infra/core';
import { JumpDetector, parseFix, riderOfFleetTopic, validatedFix, type FixLimits, type FixPayload, type FixRejection } from '@infra/core/topics';
import type { Kysely } from 'kysely';
import { RiderIndex } from './spatial.js';
import { riderStore, type RiderDb, type RiderRow } from './store.js';
import { FixHistory, type HistoryStats } from './history.js';
import type { CreateRiderBody, ListRidersQuery, RiderView, ShiftBody, UpdateRiderBody } from './schema.js';

type AnyDb = Kysely<any>;
const r = (db: AnyDb): RiderDb => db as RiderDb;
const iso = (ms: number): string => new Date(ms).toISOString();

/** One accepted GPS fix (ts = when the device took it, epoch ms). */
export interface Fix extends FixPayload {
  riderId: string;
  /** the move from the previous fix implied more than fleet.maxSpeedKmh (stored, but the rider's position did not move) */
  flagged?: boolean;
}

export interface AvailableRider {
  id: string;
  merchantId: string | null;
  capacity: number;
  load: number;
  skills: string[];
  vehicle: string;
  position: Fix;
  distanceM: number;
}

export interface AvailableQuery {
  near: { lat: number; lng: number };
  /** default 5000 */
  radiusM?: number;
  /** default 20 */
  limit?: number;
  /** undefined = any rider; null = the platform pool only; a string = that merchant's riders only */
  merchantId?: string | null;
  /** the rider must have all of them */
  skills?: string[];
}

export interface RiderActor {
  id: string;
  role: Role;
  /** merchant staff: the merchant whose riders it manages */
  merchant?: string;
}

export type FleetSettings = InfraConfig['fleet'];

export interface RiderServiceOptions {
  /** the database file behind `db`: fix batches are then written from a thread of their own, off the event loop */
  historyFile?: string;
}

export interface TelemetryStats extends HistoryStats {
  /** fixes seen on fleet/+/loc */
  received: number;
  /** valid ones (flagged included) */
  accepted: number;
  /** invalid ones, by reason */
  dropped: number;
  droppedBy: Partial<Record<FixRejection, number>>;
  flagged: number;
  /** older than the rider's last fix: stored, position unchanged */
  late: number;
}

interface RiderState {
  row: RiderRow;
  skills: string[];
  /** current and future shifts */
  shifts: { id: string; start: number; end: number }[];
  /** any shift at all, past ones included: a rider without shifts works whenever on duty */
  hasShifts: boolean;
}

/**
 * Riders: profiles, shifts, duty and load in SQL (mirrored in memory for the synchronous nearest search), and their
 * live location: fixes from fleet/+/loc validated, kept as the last known position in an H3 index, handed to
 * onFix handlers, and written to rider_fixes in batches (one transaction per batch, never one per fix).
 */
export class RiderService {
  private readonly riders = new Map<string, RiderState>();
  private readonly positions = new Map<string, Fix>();
  private readonly index: RiderIndex;
  private readonly jumps: JumpDetector;
  private readonly handlers = new Set<(fix: Fix) => void>();
  private readonly dirtyLoads = new Set<string>();
  private readonly limits: FixLimits;
  private readonly history: FixHistory;
  private timer: NodeJS.Timeout | undefined;
  private retention: NodeJS.Timeout | undefined;
  private pruning: Promise<number> | undefined;
  private unsubscribe: (() => Promise<void>) | undefined;
  private lastDropLog = 0;
  private closed = false;
  readonly stats: TelemetryStats = { received: 0, accepted: 0, dropped: 0, droppedBy: {}, flagged: 0, late: 0, persisted: 0, batches: 0, bufferDropped: 0 };

  constructor(
    private readonly db: AnyDb,
    private readonly settings: FleetSettings,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
    opts: RiderServiceOptions = {},
  ) {
    this.index = new RiderIndex(settings.h3Resolution);
    this.jumps = new JumpDetector(settings.maxSpeedKmh);
    this.limits = { maxBytes: settings.maxFixBytes, maxFutureMs: settings.maxFutureMs, maxAgeMs: settings.maxAgeMs };
    this.history = new FixHistory(db, settings.flushBatch, settings.bufferMax, this.stats, log, opts.historyFile);
  }

  /** Loads the profiles and current shifts, subscribes to fleet/+/loc on the bus (when there is one), starts the writer. */
  async start(bus?: EventBus): Promise<void> {
    const now = this.now();
    const [rows, shifts, withShifts] = await Promise.all([riderStore.all(r(this.db)), riderStore.currentShifts(r(this.db), now), riderStore.ridersWithShifts(r(this.db))]);
    const hasShifts = new Set(withShifts.map((x) => x.rider_id));
    for (const row of rows) this.riders.set(row.id, { row, skills: JSON.parse(row.skills) as string[], shifts: [], hasShifts: hasShifts.has(row.id) });
    for (const s of shifts) this.riders.get(s.rider_id)?.shifts.push({ id: s.id, start: Number(s.starts_at), end: Number(s.ends_at) });
    // the last positions survive a restart (up to fleet.maxAgeMs old; available() still wants them fresher than staleMs)
    for (const f of await riderStore.lastFixes(r(this.db), now - this.settings.maxAgeMs)) {
      const fix: Fix = { riderId: f.rider_id, lat: f.lat, lng: f.lng, ts: Number(f.ts) };
      if (f.speed !== null) fix.speed = f.speed;
      if (f.heading !== null) fix.heading = f.heading;
      if (f.accuracy !== null) fix.accuracy = f.accuracy;
      this.jumps.check(fix.riderId, fix);
      this.positions.set(fix.riderId, fix);
      this.index.move(fix.riderId, fix.lat, fix.lng);
    }
    this.timer = setInterval(() => void this.flush(true), this.settings.flushMs);
    this.timer.unref();
    if (this.settings.historyRetention) this.retention = sweepHourly(() => this.pruneHistory(), (err) => this.log?.error({ err: err.message }, 'fix history retention sweep failed'));
    if (bus) this.unsubscribe = await bus.subscribe('fleet/+/loc', (m) => this.ingest(m.topic, m.payload));
  }

  /** Stops listening and writes every buffered fix. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    clearInterval(this.retention);
    await this.pruning?.catch(() => undefined);
    await this.unsubscribe?.().catch(() => undefined);
    await this.history.close();
  }

  // ---- profiles ----

  private self(actor: RiderActor, id: string): void {
    if (actor.role === 'rider' && actor.id !== id) throw new InfraError('INFRA_ERR_FORBIDDEN', 'a rider token may only read or change its own rider');
    // merchant staff see their merchant's riders only: any other is not there for them
    if (actor.role === 'merchant' && this.riders.get(id)?.row.merchant_id !== actor.merchant) throw new InfraError('INFRA_ERR_NOT_FOUND', `rider ${id} not found`);
  }

  /** Merchant staff may act on their merchant's riders only (404 for any other); other roles as the route allows. */
  assertVisible(id: string, actor: RiderActor): void {
    this.self(actor, id);
  }

  private state(id: string): RiderState {
    const s = this.riders.get(id);
    if (!s) throw new InfraError('INFRA_ERR_NOT_FOUND', `rider ${id} not found`);
    return s;
  }

  private inShift(s: RiderState, now: number): boolean {
    return !s.hasShifts || s.shifts.some((x) => x.start <= now && now < x.end);
  }

  private view(s: RiderState, now = this.now()): RiderView {
    const x = s.row;
    return {
      id: x.id, name: x.name, vehicle: x.vehicle, capacity: x.capacity, load: x.load, skills: s.skills, homeZone: x.home_zone, merchantId: x.merchant_id,
      onDuty: x.on_duty === 1, inShift: this.inShift(s, now), createdAt: iso(Number(x.created_at)), updatedAt: iso(Number(x.updated_at)),
    };
  }

  async create(body: CreateRiderBody): Promise<RiderView> {
    const now = this.now();
    const row: RiderRow = {
      id: body.id, name: body.name, vehicle: body.vehicle, capacity: body.capacity, load: 0, skills: JSON.stringify(body.skills ?? []),
      home_zone: body.homeZone ?? null, merchant_id: body.merchantId ?? null, on_duty: 0, created_at: now, updated_at: now,
    };
    await this.db.transaction().execute(async (trx) => {
      if (await riderStore.rider(r(trx), body.id)) throw new InfraError('INFRA_ERR_CONFLICT', `rider ${body.id} already exists`);
      await riderStore.insert(r(trx), row);
    });
    const s: RiderState = { row, skills: body.skills ?? [], shifts: [], hasShifts: false };
    this.riders.set(row.id, s);
    return this.view(s, now);
  }

  get(id: string, actor: RiderActor): RiderView {
    this.self(actor, id);
    return this.view(this.state(id));
  }

  async list(q: ListRidersQuery): Promise<{ items: RiderView[]; nextCursor: string | null }> {
    const limit = q.limit ?? 100;
    const merchantId = q.merchantId === 'pool' ? null : q.merchantId;
    const rows = await riderStore.list(r(this.db), { ...(merchantId !== undefined ? { merchantId } : {}), ...(q.onDuty !== undefined ? { onDuty: q.onDuty } : {}), ...(q.cursor ? { cursor: q.cursor } : {}), limit });
    const now = this.now();
    return { items: rows.map((row) => this.view(this.riders.get(row.id) ?? { row, skills: JSON.parse(row.skills) as string[], shifts: [], hasShifts: false }, now)), nextCursor: rows.length === limit ? rows[rows.length - 1]!.id : null };
  }

  async update(id: string, body: UpdateRiderBody): Promise<RiderView> {
    const s = this.state(id);
    const set: Parameters<typeof riderStore.update>[2] = { updated_at: this.now() };
    if (body.name !== undefined) set.name = body.name;
    if (body.vehicle !== undefined) set.vehicle = body.vehicle;
    if (body.capacity !== undefined) set.capacity = body.capacity;
    if (body.skills !== undefined) set.skills = JSON.stringify(body.skills);
    if (body.homeZone !== undefined) set.home_zone = body.homeZone;
    if (body.merchantId !== undefined) set.merchant_id = body.merchantId;
    const row = await riderStore.update(r(this.db), id, set);
    if (!row) {
      const cur = await riderStore.rider(r(this.db), id);
      if (!cur) throw new InfraError('INFRA_ERR_NOT_FOUND', `rider ${id} not found`);
      throw new InfraError('INFRA_ERR_RIDER_CAPACITY', `rider ${id} carries ${cur.load}: capacity ${body.capacity} is too small`);
    }
    s.row = row;
    s.skills = JSON.parse(row.skills) as string[];
    return this.view(s);
  }

  async setDuty(id: string, onDuty: boolean, actor: RiderActor): Promise<RiderView> {
    this.self(actor, id);
    const s = this.state(id);
    const row = await riderStore.setDuty(r(this.db), id, onDuty, this.now());
    if (!row) throw new InfraError('INFRA_ERR_NOT_FOUND', `rider ${id} not found`);
    s.row = row;
    return this.view(s);
  }

  onDuty(id: string, actor: RiderActor): Promise<RiderView> {
    return this.setDuty(id, true, actor);
  }

  offDuty(id: string, actor: RiderActor): Promise<RiderView> {
    return this.setDuty(id, false, actor);
  }

  // ---- shifts ----

  async addShift(id: string, body: ShiftBody): Promise<{ id: string; riderId: string; start: string; end: string }> {
    const s = this.state(id);
    const start = Date.parse(body.start);
    const end = Date.parse(body.end);
    if (!(end > start)) throw new InfraError('INFRA_ERR_VALIDATION', 'a shift ends after it starts', { details: [{ path: 'body.end', message: 'must be after start' }] });
    const now = this.now();
    const shift = { id: newId('shf', now), rider_id: id, starts_at: start, ends_at: end, created_at: now };
    await riderStore.insertShift(r(this.db), shift);
    s.hasShifts = true;
    if (end > now) s.shifts.push({ id: shift.id, start, end });
    return { id: shift.id, riderId: id, start: iso(start), end: iso(end) };
  }

  async shifts(id: string, actor: RiderActor): Promise<{ items: { id: string; riderId: string; start: string; end: string }[] }> {
    this.self(actor, id);
    this.state(id);
    const rows = await riderStore.shifts(r(this.db), id);
    return { items: rows.map((x) => ({ id: x.id, riderId: x.rider_id, start: iso(Number(x.starts_at)), end: iso(Number(x.ends_at)) })) };
  }

  async removeShift(id: string, shiftId: string): Promise<void> {
    const s = this.state(id);
    if (!(await riderStore.deleteShift(r(this.db), id, shiftId))) throw new InfraError('INFRA_ERR_NOT_FOUND', `shift ${shiftId} of rider ${id} not found`);
    s.shifts = s.shifts.filter((x) => x.id !== shiftId);
    s.hasShifts = await riderStore.hasShifts(r(this.db), id);
  }

  // ---- load ----

  /**
   * load += units in the caller's transaction, only while it stays within capacity (a conditional UPDATE: two
   * concurrent reservations can never both take the last place). False when it would not fit or the rider is unknown.
   * The in-memory load follows at once and is re-read from SQL on the next writer tick (in case the caller rolls back).
   */
  async reserveCapacity(trx: AnyDb, riderId: string, units = 1): Promise<boolean> {
    const row = await riderStore.reserve(r(trx), riderId, units, this.now());
    const s = this.riders.get(riderId);
    if (row && s) s.row = { ...s.row, load: row.load };
    this.dirtyLoads.add(riderId);
    return row !== undefined;
  }

  async releaseCapacity(trx: AnyDb, riderId: string, units = 1): Promise<void> {
    const load = await riderStore.release(r(trx), riderId, units, this.now());
    const s = this.riders.get(riderId);
    if (load !== undefined && s) s.row = { ...s.row, load };
    this.dirtyLoads.add(riderId);
  }

  private async resyncLoads(): Promise<void> {
    if (!this.dirtyLoads.size) return;
    const ids = [...this.dirtyLoads];
    this.dirtyLoads.clear();
    for (const x of await riderStore.loads(r(this.db), ids)) {
      const s = this.riders.get(x.id);
      if (s) s.row = { ...s.row, load: x.load };
    }
  }

  // ---- live location ----

  /** Every accepted fix, in time order per rider (flagged ones included, late ones not). Returns the unsubscribe. */
  onFix(handler: (fix: Fix) => void): () => void {
    this.handlers.add(handler);
    return () => this.handlers.delete(handler);
  }

  /** The last plausible fix of a rider, from memory. */
  position(riderId: string): Fix | undefined {
    return this.positions.get(riderId);
  }

  /** One message of fleet/+/loc (the bus handler; the broker has validated it already when it runs in this process). */
  ingest(topic: string, payload: Buffer): void {
    const riderId = riderOfFleetTopic(topic);
    if (riderId === undefined) return;
    this.stats.received++;
    const now = this.now();
    // validated by the broker's gate in this process (the same payload Buffer), or parsed here
    let p = validatedFix(payload);
    if (!p) {
      const v = parseFix(payload, now, this.limits);
      if (!v.ok) {
        this.stats.dropped++;
        this.stats.droppedBy[v.reason] = (this.stats.droppedBy[v.reason] ?? 0) + 1;
        if (now - this.lastDropLog > 10_000) {
          this.lastDropLog = now;
          this.log?.warn({ riderId, reason: v.reason, droppedBy: this.stats.droppedBy }, 'invalid fix dropped (logged at most every 10 s)');
        }
        return;
      }
      p = v.fix;
    }
    this.stats.accepted++;
    const fix: Fix = { riderId, lat: p.lat, lng: p.lng, ts: p.ts, speed: p.speed, heading: p.heading, accuracy: p.accuracy };
    const verdict = this.jumps.check(riderId, fix);
    if (verdict === 'flagged') {
      fix.flagged = true;
      this.stats.flagged++;
    } else if (verdict === 'late') this.stats.late++;
    else {
      this.positions.set(riderId, fix);
      this.index.move(riderId, fix.lat, fix.lng);
    }
    this.history.push(riderId, fix.ts, fix.lat, fix.lng, fix.speed, fix.heading, fix.accuracy, fix.flagged === true, now);
    if (verdict === 'late') return;
    for (const h of this.handlers) {
      try {
        h(fix);
      } catch (err) {
        this.log?.error({ riderId, err: (err as Error).message }, 'fix handler failed');
      }
    }
  }

  /** Writes buffered fixes (one transaction per batch of fleet.flushBatch; `all` also the last partial one) and resyncs loads. */
  async flush(all: boolean): Promise<void> {
    await this.history.flush(all);
    await this.resyncLoads().catch((err: Error) => this.log?.error({ err: err.message }, 'rider load resync failed'));
  }

  /**
   * fleet.historyRetention: deletes fixes older than it (never one younger than fleet.maxAgeMs), rider by rider, in
   * batches of `batch` rows, one statement each and a turn of the event loop between them, so a first sweep over a
   * long history does not hold the loop. Returns how many went; runs at start and hourly.
   */
  pruneHistory(batch = 5000): Promise<number> {
    if (!this.settings.historyRetention) return Promise.resolve(0);
    this.pruning ??= (async () => {
      const before = this.now() - Math.max(parseDuration(this.settings.historyRetention) * 1000, this.settings.maxAgeMs);
      let removed = 0;
      for (const riderId of [...this.riders.keys()]) {
        for (;;) {
          if (this.closed) return removed;
          const n = await riderStore.deleteFixesBefore(r(this.db), riderId, before, batch);
          removed += n;
          if (n < batch) break;
          await new Promise((resolve) => setImmediate(resolve));
        }
      }
      if (removed > 0) this.log?.info({ removed, before: new Date(before).toISOString() }, 'fix history retention: old fixes deleted');
      return removed;
    })().finally(() => {
      this.pruning = undefined;
    });
    return this.pruning;
  }

  /** Rows in rider_fixes (for a rider, or all). */
  storedFixes(riderId?: string): Promise<number> {
    return riderStore.countFixes(r(this.db), riderId);
  }

  /** On duty, in shift, load < capacity, a fix newer than fleet.staleMs; nearest first. */
  available(q: AvailableQuery): AvailableRider[] {
    const now = this.now();
    const hits = this.index.near(q.near.lat, q.near.lng, q.radiusM ?? 5000, q.limit ?? 20, (id) => {
      const s = this.riders.get(id);
      const p = this.positions.get(id);
      if (!s || !p || s.row.on_duty !== 1 || s.row.load >= s.row.capacity || now - p.ts > this.settings.staleMs || !this.inShift(s, now)) return undefined;
      if (q.merchantId !== undefined && s.row.merchant_id !== q.merchantId) return undefined;
      if (q.skills?.length && !q.skills.every((k) => s.skills.includes(k))) return undefined;
      return p;
    });
    return hits.map((h) => {
      const s = this.riders.get(h.id)!;
      return { id: h.id, merchantId: s.row.merchant_id, capacity: s.row.capacity, load: s.row.load, skills: s.skills, vehicle: s.row.vehicle, position: this.positions.get(h.id)!, distanceM: Math.round(h.distanceM) };
    });
  }
}
