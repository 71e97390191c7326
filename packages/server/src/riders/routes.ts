import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { InfraError, type TokenClaims } from '@infra/core';
import { CreateRiderBody, DutyBody, ListRidersQuery, NearbyList, NearbyQuery, RiderList, RiderParams, RiderView, ShiftBody, ShiftList, ShiftParams, ShiftView, UpdateRiderBody, FixView } from './schema.js';
import type { Fix, RiderService } from './service.js';

const tags = ['riders'];
// admin and service tokens manage every rider; merchant staff (role merchant) their merchant's riders only
const staff = { roles: ['admin', 'service', 'merchant'] as const };
const staffOrSelf = { roles: ['admin', 'service', 'merchant', 'rider'] as const };

/**
 * The merchant a request is scoped to: merchant staff always their own (asking for another merchant's, or the pool,
 * is 403); other roles what they asked for.
 */
function scopedMerchant(me: TokenClaims, asked: string | null | undefined, path: string): string | null | undefined {
  if (me.role !== 'merchant') return asked;
  if (asked !== undefined && asked !== me.merchant) throw new InfraError('INFRA_ERR_FORBIDDEN', `merchant staff of ${me.merchant} may not act for ${asked ?? 'the platform pool'}`, { details: [{ path, message: 'not your merchant' }] });
  return me.merchant;
}

const fixView = (f: Fix) => ({ ...f, ts: new Date(f.ts).toISOString(), flagged: f.flagged === true });

export function riderRoutes(service: RiderService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const actor = (req: { user?: TokenClaims }) => ({ id: req.user!.sub, role: req.user!.role, ...(req.user!.merchant ? { merchant: req.user!.merchant } : {}) });
    /** 404 for a rider the caller may not see (another merchant's, for merchant staff) */
    const visible = (req: { user?: TokenClaims }, id: string): void => service.assertVisible(id, actor(req));
    r.post('/riders', { config: staff, schema: { tags, summary: 'Create a rider profile; id = the user id of its `rider` token. 409 INFRA_ERR_CONFLICT when it exists', body: CreateRiderBody, response: { 201: RiderView } } },
      async (req, reply) => {
        const merchantId = scopedMerchant(req.user!, req.body.merchantId, 'body.merchantId');
        return reply.code(201).send(await service.create({ ...req.body, ...(merchantId !== undefined ? { merchantId } : {}) }));
      });
    r.get('/riders', { config: staff, schema: { tags, summary: 'List riders by id; filter by merchant (`pool` = platform pool) and duty; cursor pagination', querystring: ListRidersQuery, response: { 200: RiderList } } },
      async (req) => {
        const asked = req.query.merchantId === undefined ? undefined : req.query.merchantId === 'pool' ? null : req.query.merchantId;
        const merchantId = scopedMerchant(req.user!, asked, 'querystring.merchantId');
        return service.list({ ...req.query, ...(merchantId !== undefined ? { merchantId: merchantId ?? 'pool' } : {}) });
      });
    r.get('/riders/nearby', { config: staff, schema: { tags, summary: 'Available riders (on duty, in shift, not full, recent fix) nearest first', querystring: NearbyQuery, response: { 200: NearbyList } } },
      async (req) => {
        const q = req.query;
        const merchantId = scopedMerchant(req.user!, q.merchantId === undefined ? undefined : q.merchantId === 'pool' ? null : q.merchantId, 'querystring.merchantId');
        const items = service.available({
          near: { lat: q.lat, lng: q.lng }, ...(q.radiusM ? { radiusM: q.radiusM } : {}), ...(q.limit ? { limit: q.limit } : {}),
          ...(merchantId !== undefined ? { merchantId } : {}),
          ...(q.skills ? { skills: q.skills.split(',').map((s) => s.trim()).filter(Boolean) } : {}),
        });
        return { items: items.map((a) => ({ ...a, position: fixView(a.position) })) };
      });
    r.get('/riders/:id', { config: staffOrSelf, schema: { tags, summary: 'A rider (a rider token reads only itself)', params: RiderParams, response: { 200: RiderView } } },
      async (req) => service.get(req.params.id, actor(req)));
    r.patch('/riders/:id', { config: staff, schema: { tags, summary: 'Change a profile; capacity never below the current load (409 INFRA_ERR_RIDER_CAPACITY)', params: RiderParams, body: UpdateRiderBody, response: { 200: RiderView } } },
      async (req) => {
        visible(req, req.params.id);
        if (req.body.merchantId !== undefined) scopedMerchant(req.user!, req.body.merchantId, 'body.merchantId');
        return service.update(req.params.id, req.body);
      });
    r.post('/riders/:id/duty', { config: staffOrSelf, schema: { tags, summary: 'Go on or off duty (a rider token only for itself)', params: RiderParams, body: DutyBody, response: { 200: RiderView } } },
      async (req) => service.setDuty(req.params.id, req.body.onDuty, actor(req)));
    r.post('/riders/:id/shifts', { config: staff, schema: { tags, summary: 'Add a shift (start < end, ISO 8601)', params: RiderParams, body: ShiftBody, response: { 201: ShiftView } } },
      async (req, reply) => {
        visible(req, req.params.id);
        return reply.code(201).send(await service.addShift(req.params.id, req.body));
      });
    r.get('/riders/:id/shifts', { config: staffOrSelf, schema: { tags, summary: 'A rider’s shifts, earliest first', params: RiderParams, response: { 200: ShiftList } } },
      async (req) => service.shifts(req.params.id, actor(req)));
    r.delete('/riders/:id/shifts/:shiftId', { config: staff, schema: { tags, summary: 'Remove a shift', params: ShiftParams } },
      async (req, reply) => {
        visible(req, req.params.id);
        await service.removeShift(req.params.id, req.params.shiftId);
        return reply.code(204).send();
      });
    r.get('/riders/:id/location', { config: staffOrSelf, schema: { tags, summary: 'The rider’s last known position (404 INFRA_ERR_RIDER_NO_FIX before its first fix)', params: RiderParams, response: { 200: FixView } } },
      async (req) => {
        service.get(req.params.id, actor(req));
        const fix = service.position(req.params.id);
        if (!fix) throw new InfraError('INFRA_ERR_RIDER_NO_FIX', `no position known for rider ${req.params.id}`);
        return fixView(fix);
      });
  };
}
