import type { DecisionRow, JobRow, OfferRow } from './store.js';
import type { JobView, OfferView } from './schema.js';

const iso = (ms: number): string => new Date(ms).toISOString();

export function offerView(o: OfferRow, job: JobRow): OfferView {
  return {
    id: o.id, jobId: o.job_id, riderId: o.rider_id, status: o.status, createdAt: iso(o.created_at), expiresAt: iso(o.expires_at),
    answeredAt: o.answered_at === null ? null : iso(o.answered_at), pickup: { lat: job.pickup_lat, lng: job.pickup_lng }, dropoff: { lat: job.dropoff_lat, lng: job.dropoff_lng },
  };
}

export function jobView(r: JobRow, offers: OfferRow[]): JobView {
  return {
    id: r.id, orderId: r.order_id, customer: r.customer_id, merchantId: r.merchant_id, zone: r.zone, strategy: r.strategy as JobView['strategy'],
    pickup: { lat: r.pickup_lat, lng: r.pickup_lng }, dropoff: { lat: r.dropoff_lat, lng: r.dropoff_lng }, units: r.units,
    skills: JSON.parse(r.skills) as string[], proof: r.proof as JobView['proof'], status: r.status, riderId: r.rider_id,
    offers: offers.map((o) => offerView(o, r)), createdAt: iso(r.created_at), updatedAt: iso(r.updated_at),
  };
}

export function decisionView(r: DecisionRow) {
  return {
    jobId: r.job_id, riderId: r.rider_id, strategy: r.strategy, outcome: r.outcome, distanceM: r.distance_m === null ? null : Number(r.distance_m),
    load: r.load, capacity: r.capacity, score: r.score === null ? null : Number(r.score), reason: r.reason, at: iso(Number(r.at)),
  };
}
