import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { InfraError } from '@infra/core';
import { CreateJobBody, DecisionList, DecisionQuery, IdParams, JobView, OfferList, OfferQuery } from './schema.js';
import type { DispatchService } from './service.js';
import type { RiderService } from '../riders/index.js';

const tags = ['dispatch'];
// merchant staff (role merchant) see and create their merchant's jobs only: another merchant's job is a 404
const staff = { roles: ['admin', 'service', 'merchant'] as const };
const rider = { roles: ['rider'] as const };
const notFound = (id: string) => new InfraError('INFRA_ERR_NOT_FOUND', `job ${id} not found`);

export function dispatchRoutes(service: DispatchService, riders: Pick<RiderService, 'assertVisible'>): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.post('/dispatch/jobs', {
      config: staff,
      schema: { tags, summary: 'A delivery job enters the dispatch pool (pickup, drop-off, merchant); its zone\'s strategy assigns it (nearest: at once; grab: offers; batch: next round)', body: CreateJobBody, response: { 201: JobView } },
    }, async (req, reply) => {
      const me = req.user!;
      if (me.role === 'merchant' && req.body.merchantId !== undefined && req.body.merchantId !== me.merchant) {
        throw new InfraError('INFRA_ERR_FORBIDDEN', `merchant staff of ${me.merchant} may not create jobs for ${req.body.merchantId}`, { details: [{ path: 'body.merchantId', message: 'not your merchant' }] });
      }
      // orders carry no merchant, so merchant staff cannot show an order is theirs: their jobs stand alone (the
      // customer follows orders/{jobId}); attaching a job to an order, and its events to orders/{orderId}, takes a backend
      if (me.role === 'merchant' && req.body.orderId !== undefined) {
        throw new InfraError('INFRA_ERR_FORBIDDEN', 'merchant staff post stand-alone jobs; attaching a job to an order takes a service or admin token', { details: [{ path: 'body.orderId', message: 'not for merchant staff' }] });
      }
      const body = me.role === 'merchant' ? { ...req.body, merchantId: me.merchant! } : req.body;
      return reply.code(201).send(await service.createJob(body, { id: me.sub }));
    });
    r.get('/dispatch/jobs/:id', { config: { roles: ['admin', 'service', 'merchant', 'rider'] as const }, schema: { tags, summary: 'A job with its offers (a rider sees only jobs assigned or offered to them, merchant staff their merchant\'s)', params: IdParams, response: { 200: JobView } } },
      async (req) => {
        const job = await service.getJob(req.params.id);
        const me = req.user!;
        if (me.role === 'rider' && job.riderId !== me.sub && !job.offers.some((o) => o.riderId === me.sub)) throw notFound(req.params.id);
        if (me.role === 'merchant' && job.merchantId !== me.merchant) throw notFound(req.params.id);
        return job;
      });
    r.get('/dispatch/decisions', { config: staff, schema: { tags, summary: 'Every dispatch decision about a job, oldest first, with why (distance, load, score)', querystring: DecisionQuery, response: { 200: DecisionList } } },
      async (req) => {
        const me = req.user!;
        if (me.role === 'merchant' && (await service.getJob(req.query.job).catch(() => undefined))?.merchantId !== me.merchant) throw notFound(req.query.job);
        return service.decisions(req.query.job, req.query.limit ?? 200);
      });
    r.get('/dispatch/offers', {
      config: { roles: ['admin', 'service', 'merchant', 'rider'] as const },
      schema: { tags, summary: 'Open offers: a rider gets their own (and is granted fleet/{riderId}/offers to subscribe to: call this before subscribing); staff pass ?rider= (merchant staff: their merchant\'s riders)', querystring: OfferQuery, response: { 200: OfferList } },
    }, async (req) => {
      const me = req.user!;
      if (me.role === 'rider') return service.openOffers(me.sub, true);
      if (!req.query.rider) throw new InfraError('INFRA_ERR_VALIDATION', 'rider is required with a staff token', { details: [{ path: 'querystring.rider', message: 'required' }] });
      if (me.role === 'merchant') riders.assertVisible(req.query.rider, { id: me.sub, role: me.role, merchant: me.merchant! });
      return service.openOffers(req.query.rider, false);
    });
    r.post('/dispatch/offers/:id/accept', { config: rider, schema: { tags, summary: 'Accept an offer (own offers only): first accept wins; 409 INFRA_ERR_DISPATCH_OFFER_CLOSED when it is gone, INFRA_ERR_DISPATCH_RIDER_FULL at capacity', params: IdParams, response: { 200: JobView } } },
      async (req) => service.answer(req.params.id, req.user!.sub, true));
    r.post('/dispatch/offers/:id/reject', { config: rider, schema: { tags, summary: 'Reject an offer (own offers only); the job returns to the pool once every offer is answered', params: IdParams, response: { 200: JobView } } },
      async (req) => service.answer(req.params.id, req.user!.sub, false));
  };
}
