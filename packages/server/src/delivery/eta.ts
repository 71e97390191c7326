import { topics, type InfraConfig, type Logger } from '@infra/core';
import type { Kysely } from 'kysely';
import type { Fix, RiderService } from '../riders/index.js';
import { outboxStore, type OutboxDb } from '../outbox/store.js';
import { deliveryStore, type DeliveryDb, type DeliveryRow } from './store.js';
import { predictEta, SpeedModel } from './speed.js';

type AnyDb = Kysely<any>;
const dd = (db: AnyDb): DeliveryDb => db as unknown as DeliveryDb;
const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

interface Tracked {
  row: DeliveryRow;
  status: string;
  last?: { pickupAt: number | null; dropoffAt: number | null };
  writing: boolean;
}

/** p-th percentile (nearest rank) of sorted values. */
function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/**
 * ETAs of running deliveries: recomputed on every fix of their rider from the remaining legs and the learned
 * speed, republished as delivery.eta on orders/{orderId} (through the outbox) only when a prediction moves by more
 * than dispatch.etaRepublishS. Every published prediction is stored; arrivals fill in the actual time.
 */
export class EtaService {
  readonly model: SpeedModel;
  private readonly tracked = new Map<string, Tracked>();
  private readonly byRider = new Map<string, Set<string>>();
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
  }

  start(): void {
    this.off = this.riders.onFix((fix) => this.onFix(fix));
  }

  close(): void {
    this.off?.();
  }

  /** The zone a rider is working in: the one of its running delivery (for the per-zone speed). */
  private zoneOf(riderId: string): string | undefined {
    const ids = this.byRider.get(riderId);
    if (!ids) return undefined;
    for (const id of ids) return this.tracked.get(id)?.row.zone;
    return undefined;
  }

  private onFix(fix: Fix): void {
    this.model.observe(fix, this.zoneOf(fix.riderId));
    for (const id of this.byRider.get(fix.riderId) ?? []) void this.refresh(id);
  }

  /** Starts following a delivery (assignment, restart) and publishes its first ETA. */
  track(row: DeliveryRow): void {
    if (row.finished_at !== null || this.tracked.has(row.id)) return;
    this.tracked.set(row.id, { row, status: row.status, writing: false });
    let set = this.byRider.get(row.rider_id);
    if (!set) this.byRider.set(row.rider_id, (set = new Set()));
    set.add(row.id);
    void this.refresh(row.id);
  }

  /** The delivery moved: in the caller's transaction, an arrival settles the leg's predictions. */
  async transitioned(trx: AnyDb, id: string, to: string, now: number): Promise<void> {
    if (to === 'at_pickup') await deliveryStore.arrived(dd(trx), id, 'pickup', now);
    if (to === 'at_customer') await deliveryStore.arrived(dd(trx), id, 'dropoff', now);
  }

  /** After the commit of a transition: new legs, new ETA; a finished delivery is dropped. */
  moved(id: string, to: string, finished: boolean): void {
    const t = this.tracked.get(id);
    if (!t) return;
    if (finished) {
      this.tracked.delete(id);
      this.byRider.get(t.row.rider_id)?.delete(id);
      if (this.byRider.get(t.row.rider_id)?.size === 0) this.byRider.delete(t.row.rider_id);
      return;
    }
    t.status = to;
    void this.refresh(id);
  }

  private async refresh(id: string): Promise<void> {
    const t = this.tracked.get(id);
    if (!t || t.writing) return;
    const now = this.now();
    const r = t.row;
    const eta = predictEta({
      status: t.status, position: this.riders.position(r.rider_id), pickup: { lat: r.pickup_lat, lng: r.pickup_lng }, dropoff: { lat: r.dropoff_lat, lng: r.dropoff_lng },
      speedMps: this.model.speed(r.rider_id, r.zone), detour: this.settings.detourFactor, pickupDwellS: this.settings.pickupDwellS, now,
    });
    if (!eta || (eta.pickupAt === null && eta.dropoffAt === null)) return;
    const threshold = this.settings.etaRepublishS * 1000;
    const moved = (a: number | null, b: number | null | undefined): boolean => a !== null && (b === undefined || b === null || Math.abs(a - b) > threshold);
    if (t.last && !moved(eta.pickupAt, t.last.pickupAt) && !moved(eta.dropoffAt, t.last.dropoffAt)) return;
    t.writing = true;
    try {
      await this.db.transaction().execute(async (trx) => {
        if (eta.pickupAt !== null) await deliveryStore.addPrediction(dd(trx), { delivery_id: id, kind: 'pickup', made_at: now, predicted_at: eta.pickupAt });
        if (eta.dropoffAt !== null) await deliveryStore.addPrediction(dd(trx), { delivery_id: id, kind: 'dropoff', made_at: now, predicted_at: eta.dropoffAt });
        await outboxStore.append(trx as unknown as OutboxDb, r.order_id, topics.order(r.order_id), {
          type: 'delivery.eta', orderId: r.order_id, deliveryId: id, status: t.status, pickupAt: iso(eta.pickupAt), dropoffAt: iso(eta.dropoffAt),
          speedMps: Math.round(this.model.speed(r.rider_id, r.zone) * 10) / 10, at: iso(now),
        }, now);
      });
      t.last = eta;
      this.onCommit();
    } catch (err) {
      this.log?.warn({ err: (err as Error).message, deliveryId: id }, 'eta not recorded');
    } finally {
      t.writing = false;
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
