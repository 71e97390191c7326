import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { issuer, offset, startFleetStack, type FleetStack } from '../../test/fleet-stack.js';

/** Merchant-scoped dispatch staff: a `merchant` token sees and dispatches only its merchant's riders and jobs. */
const BASE = { lat: 45.46, lng: 9.19 };
let s: FleetStack;
let admin: string;
let m1: string;

const merchantToken = (user: string, merchant: string): Promise<string> => issuer.sign(user, 'merchant', 600, Date.now(), { merchant });

async function riderOf(id: string, merchantId: string | null, at: { lat: number; lng: number }): Promise<void> {
  expect((await s.call('POST', '/riders', admin, { id, name: id, vehicle: 'bicycle', capacity: 2, merchantId })).status).toBe(201);
  const token = await s.token(id, 'rider');
  expect((await s.call('POST', `/riders/${id}/duty`, token, { onDuty: true })).status).toBe(200);
  const c = await s.mqtt(id, 'rider');
  await s.fix(c, id, at);
}

beforeAll(async () => {
  s = await startFleetStack({ yaml: 'dispatch:\n  strategy: nearest\n  merchantFallback: false\n  replanIntervalMs: 0\n' });
  admin = await s.token('admin', 'admin');
  m1 = await merchantToken('disp1', 'm1');
  await riderOf('mr1', 'm1', BASE);
  await riderOf('mr2', 'm2', offset(BASE, 10, 0));
  await riderOf('pr1', null, offset(BASE, 20, 0));
});
afterAll(async () => s?.close());

const code = (r: { status: number; body: any }): [number, string] => [r.status, r.body?.type];

describe('merchant-scoped dispatch staff', () => {
  it('a merchant token needs its merchant id; whoami shows it', async () => {
    await expect(issuer.sign('disp1', 'merchant', 600)).rejects.toMatchObject({ code: 'INFRA_ERR_BAD_ARGUMENT' });
    await expect(issuer.sign('ops', 'service', 600, Date.now(), { merchant: 'm1' })).rejects.toMatchObject({ code: 'INFRA_ERR_BAD_ARGUMENT' });
    expect((await s.call('GET', '/auth/whoami', m1)).body).toMatchObject({ user: 'disp1', role: 'merchant', merchant: 'm1' });
    // admins mint them over HTTP too; without the merchant id it is refused
    const minted = await s.call('POST', '/auth/tokens', admin, { user: 'disp2', role: 'merchant', merchant: 'm2' });
    expect(minted.status).toBe(201);
    expect((await s.call('GET', '/auth/whoami', minted.body.token)).body.merchant).toBe('m2');
    expect(code(await s.call('POST', '/auth/tokens', admin, { user: 'disp2', role: 'merchant' }))).toEqual([400, 'INFRA_ERR_BAD_ARGUMENT']);
  });

  it('sees and manages its own riders only: another merchant\'s or the pool\'s are 404/403 with codes', async () => {
    const list = await s.call('GET', '/riders', m1);
    expect(list.body.items.map((r: { id: string }) => r.id)).toEqual(['mr1']);
    expect(code(await s.call('GET', '/riders?merchantId=m2', m1))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    expect(code(await s.call('GET', '/riders?merchantId=pool', m1))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    expect((await s.call('GET', '/riders/mr1', m1)).body.merchantId).toBe('m1');
    expect(code(await s.call('GET', '/riders/mr2', m1))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect(code(await s.call('GET', '/riders/pr1', m1))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect(code(await s.call('GET', '/riders/mr2/location', m1))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect((await s.call('GET', '/riders/mr1/location', m1)).status).toBe(200);
    expect(code(await s.call('PATCH', '/riders/mr2', m1, { name: 'x' }))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect(code(await s.call('PATCH', '/riders/mr1', m1, { merchantId: 'm2' }))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    expect((await s.call('PATCH', '/riders/mr1', m1, { name: 'Mara' })).body.name).toBe('Mara');
    expect(code(await s.call('POST', '/riders/mr2/duty', m1, { onDuty: false }))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect(code(await s.call('POST', '/riders/mr2/shifts', m1, { start: '2026-11-25T08:00:00Z', end: '2026-11-25T16:00:00Z' }))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect(code(await s.call('POST', '/riders', m1, { id: 'mr3', name: 'x', vehicle: 'foot', capacity: 1, merchantId: 'm2' }))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    const created = await s.call('POST', '/riders', m1, { id: 'mr3', name: 'x', vehicle: 'foot', capacity: 1 });
    expect(created.status).toBe(201);
    expect(created.body.merchantId).toBe('m1'); // staff create for their own merchant
    const near = await s.call('GET', `/riders/nearby?lat=${BASE.lat}&lng=${BASE.lng}&radiusM=1000`, m1);
    expect(near.body.items.map((r: { id: string }) => r.id)).toEqual(['mr1']);
    expect(code(await s.call('GET', `/riders/nearby?lat=${BASE.lat}&lng=${BASE.lng}&merchantId=m2`, m1))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    // the same calls with an admin token see everything
    expect((await s.call('GET', '/riders/mr2', admin)).status).toBe(200);
  });

  it('creates and follows its merchant\'s jobs only; another merchant\'s jobs, decisions, offers and deliveries are 404; planning and accuracy stay staff-only', async () => {
    expect(code(await s.call('POST', '/dispatch/jobs', m1, { merchantId: 'm2', pickup: offset(BASE, 50, 0), dropoff: offset(BASE, 500, 0), customer: 'cu1' }))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    // orders carry no merchant: merchant staff cannot attach a job (and its events, and its rider's position) to one
    expect(code(await s.call('POST', '/dispatch/jobs', m1, { orderId: 'ord_anyone', pickup: offset(BASE, 50, 0), dropoff: offset(BASE, 500, 0) }))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    const own = await s.call('POST', '/dispatch/jobs', m1, { pickup: offset(BASE, 50, 0), dropoff: offset(BASE, 500, 0), customer: 'cu1' });
    expect(own.status).toBe(201);
    expect(own.body).toMatchObject({ merchantId: 'm1', status: 'assigned', riderId: 'mr1' }); // its own rider, never mr2 or the pool
    const other = await s.call('POST', '/dispatch/jobs', admin, { merchantId: 'm2', pickup: offset(BASE, 60, 0), dropoff: offset(BASE, 500, 0), customer: 'cu2' });
    expect(other.body).toMatchObject({ merchantId: 'm2', riderId: 'mr2' });

    expect((await s.call('GET', `/dispatch/jobs/${own.body.id}`, m1)).status).toBe(200);
    expect(code(await s.call('GET', `/dispatch/jobs/${other.body.id}`, m1))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect((await s.call('GET', `/dispatch/decisions?job=${own.body.id}`, m1)).body.items.length).toBeGreaterThan(0);
    expect(code(await s.call('GET', `/dispatch/decisions?job=${other.body.id}`, m1))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect((await s.call('GET', '/dispatch/offers?rider=mr1', m1)).status).toBe(200);
    expect(code(await s.call('GET', '/dispatch/offers?rider=mr2', m1))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);

    const mine = await s.call('GET', '/delivery', m1);
    expect(mine.body.items.map((d: { jobId: string }) => d.jobId)).toEqual([own.body.id]);
    expect(mine.body.items[0].code).toBeUndefined(); // the customer's one-time code is not for the merchant's staff
    expect((await s.call('GET', `/delivery?job=${other.body.id}`, m1)).body.items).toEqual([]);
    const otherDelivery = (await s.call('GET', `/delivery?job=${other.body.id}`, admin)).body.items[0].id as string;
    expect(code(await s.call('GET', `/delivery/${otherDelivery}`, m1))).toEqual([404, 'INFRA_ERR_NOT_FOUND']);
    expect((await s.call('GET', `/delivery/${mine.body.items[0].id}`, m1)).status).toBe(200);
    expect(code(await s.call('POST', `/delivery/${mine.body.items[0].id}/events`, m1, { event: 'cancel' }))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    expect(code(await s.call('GET', '/delivery/eta-accuracy', m1))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    expect(code(await s.call('POST', '/dispatch/plan', m1, { vehicles: [], jobs: [] }))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
    // other pillars' staff routes stay closed to it
    expect(code(await s.call('GET', '/exceptions', m1))).toEqual([403, 'INFRA_ERR_FORBIDDEN']);
  });
});
