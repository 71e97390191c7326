import { topics, type InfraConfig, type Logger } from '@infra/core';
import type { Kysely } from 'kysely';
import type { Fix, RiderService } from '../riders/index.js';
import { outboxStore, type OutboxDb } from '../outbox/store.js';
import { deliveryStore, type DeliveryDb, type DeliveryRow } from './store.js';
import { SpeedModel } from './speed.js';
import { Itineraries, straightTravelS, type Eta } from './itinerary.js';

type AnyDb = Kysely<any>;
const dd = (db: AnyDb): DeliveryDb => db as unknown as DeliveryDb;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

interface Tracked {
  row: DeliveryRow;
  status: string;
  last?: Eta;
}

/** p-th percentile (nearest rank) of sorted values. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * ETAs of running deliveries along their rider's planned stop sequence (Itineraries: the stops before this one,
 * with their service times, at the learned speed), recomputed on every fix of the rider and whenever the sequence
 * changes, republished as delivery.eta on orders/{orderId} (through the outbox) only when a prediction moves by more
 * than dispatch.etaRepublishS. Every published prediction is stored; arrivals fill in the actual time.
 */
export class EtaService {
  readonly model: SpeedModel;
  readonly itineraries: Itineraries;
  private readonly tracked = new Map<string, Tracked>();
  /** riders whose ETAs are being written, and whether another refresh was asked for meanwhile */
  private readonly writing = new Map<string, boolean>();
  private off: (() => void) | undefined;

  constructor(
    private readonly db: AnyDb,
    private readonly riders: Pick<RiderService, 'onFix' | 'position'>,
    private readonly settings: InfraConfig['dispatch'],
    private readonly onCommit: () => void,
    private readonly log?: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.model = new SpeedModel(settings.speedMps);
    this.itineraries = new Itineraries(db, settings, {
      position: (riderId) => riders.position(riderId),
      travelS: (riderId, zone, a, b) => straightTravelS(a, b, this.model.speed(riderId, zone), settings.detourFactor),
      changed: (riderId) => void this.refresh(riderId),
    }, onCommit, log, now);
  }

  start(): void {
    this.off = this.riders.onFix((fix) => this.onFix(fix));
    this.itineraries.start();
  }

  close(): void {
    this.off?.();
    this.itineraries.close();
  }

  private onFix(fix: Fix): void {
    this.model.observe(fix, this.itineraries.zoneOf(fix.riderId));
    if (this.itineraries.deliveries(fix.riderId).length) void this.refresh(fix.riderId);
  }

  /** Starts following a delivery (assignment, restart): it joins its rider's stop sequence, and its first ETA is published. */
  track(row: DeliveryRow): void {
    if (row.finished_at !== null || this.tracked.has(row.id)) return;
    this.tracked.set(row.id, { row, status: row.status });
    this.itineraries.add(row, row.status);
  }

  /** The delivery moved: in the caller's transaction, an arrival settles the leg's predictions. */
  async transitioned(trx: AnyDb, id: string, to: string, now: number): Promise<void> {
    if (to === 'at_pickup') await deliveryStore.arrived(dd(trx), id, 'pickup', now);
    if (to === 'at_customer') await deliveryStore.arrived(dd(trx), id, 'dropoff', now);
  }

  /** After the commit of a transition: the stop sequence moves on, the ETAs follow; a finished delivery is dropped. */
  moved(id: string, to: string, finished: boolean): void {
    const t = this.tracked.get(id);
    if (!t) return;
    if (finished) this.tracked.delete(id);
    else t.status = to;
    this.itineraries.update(id, to, finished);
  }

  /** Recomputes the ETAs of every delivery of the rider; writes (and publishes) the ones that moved beyond the threshold. */
  private async refresh(riderId: string): Promise<void> {
    if (this.writing.has(riderId)) {
      this.writing.set(riderId, true);
      return;
    }
    this.writing.set(riderId, false);
    try {
      do {
        this.writing.set(riderId, false);
        await this.write(riderId);
      } while (this.writing.get(riderId) === true);
    } finally {
      this.writing.delete(riderId);
    }
  }

  private async write(riderId: string): Promise<void> {
    const etas = this.itineraries.predict(riderId);
    if (!etas) return;
    const now = this.now();
    const threshold = this.settings.etaRepublishS * 1000;
    const moved = (a: number | null, b: number | null | undefined): boolean => a !== null && (b === undefined || b === null || Math.abs(a - b) > threshold);
    const due: { t: Tracked; eta: Eta; id: string }[] = [];
    for (const [id, eta] of etas) {
      const t = this.tracked.get(id);
      if (!t || (eta.pickupAt === null && eta.dropoffAt === null)) continue;
      if (t.last && !moved(eta.pickupAt, t.last.pickupAt) && !moved(eta.dropoffAt, t.last.dropoffAt)) continue;
      due.push({ t, eta, id });
    }
    if (!due.length) return;
    const ahead = this.itineraries.stops(riderId);
    try {
      await this.db.transaction().execute(async (trx) => {
        for (const { t, eta, id } of due) {
          const r = t.row;
          if (eta.pickupAt !== null) await deliveryStore.addPrediction(dd(trx), { delivery_id: id, kind: 'pickup', made_at: now, predicted_at: eta.pickupAt });
          if (eta.dropoffAt !== null) await deliveryStore.addPrediction(dd(trx), { delivery_id: id, kind: 'dropoff', made_at: now, predicted_at: eta.dropoffAt });
          // how many of the rider's other stops come before this delivery's drop-off (the customer sees why it is later)
          const mine = ahead.findIndex((s) => s.deliveryId === id && s.kind === 'dropoff');
          const stopsBefore = mine < 0 ? 0 : ahead.slice(0, mine).filter((s) => s.deliveryId !== id && !s.arrived).length;
          await outboxStore.append(trx as unknown as OutboxDb, r.order_id, topics.order(r.order_id), {
            type: 'delivery.eta', orderId: r.order_id, deliveryId: id, status: t.status, pickupAt: iso(eta.pickupAt), dropoffAt: iso(eta.dropoffAt),
            stopsBefore, speedMps: Math.round(this.model.speed(r.rider_id, r.zone) * 10) / 10, at: iso(now),
          }, now);
        }
      });
      for (const { t, eta } of due) t.last = eta;
      this.onCommit();
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, riderId }, 'eta not recorded');
    }
  }

  /** The error distribution of predictions whose leg is done: |actual - predicted| in minutes, p50 and p90, overall and per leg. */
  async accuracy(limit = 10_000) {
    const rows = await deliveryStore.settledPredictions(dd(this.db), limit);
    const summary = (kind?: 'pickup' | 'dropoff') => {
      const errs = rows.filter((x) => !kind || x.kind === kind).map((x) => Math.abs(Number(x.actual_at) - Number(x.predicted_at)) / 60_000).sort((a, b) => a - b);
      const round = (v: number | null): number | null => (v === null ? null : Math.round(v * 100) / 100);
      return { samples: errs.length, p50Minutes: round(percentile(errs, 50)), p90Minutes: round(percentile(errs, 90)) };
    };
    return { ...summary(), pickup: summary('pickup'), dropoff: summary('dropoff') };
  }
}
