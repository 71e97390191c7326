import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { InfraError } from '@infra/core';
import { CreateJobBody, DecisionList, DecisionQuery, IdParams, JobView, OfferList, OfferQuery } from './schema.js';
import type { DispatchService } from './service.js';

const tags = ['dispatch'];
const staff = { roles: ['admin', 'service'] as const };
const rider = { roles: ['rider'] as const };

export function dispatchRoutes(service: DispatchService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.post('/dispatch/jobs', {
      config: staff,
      schema: { tags, summary: 'A delivery job enters the dispatch pool (pickup, drop-off, merchant); its zone\'s strategy assigns it (nearest: at once; grab: offers; batch: next round)', body: CreateJobBody, response: { 201: JobView } },
    }, async (req, reply) => reply.code(201).send(await service.createJob(req.body, { id: req.user!.sub })));
    r.get('/dispatch/jobs/:id', { config: { roles: ['admin', 'service', 'rider'] as const }, schema: { tags, summary: 'A job with its offers (a rider sees only jobs assigned or offered to them)', params: IdParams, response: { 200: JobView } } },
      async (req) => {
        const job = await service.getJob(req.params.id);
        const me = req.user!;
        if (me.role === 'rider' && job.riderId !== me.sub && !job.offers.some((o) => o.riderId === me.sub)) throw new InfraError('INFRA_ERR_NOT_FOUND', `job ${req.params.id} not found`);
        return job;
      });
    r.get('/dispatch/decisions', { config: staff, schema: { tags, summary: 'Every dispatch decision about a job, oldest first, with why (distance, load, score)', querystring: DecisionQuery, response: { 200: DecisionList } } },
      async (req) => service.decisions(req.query.job, req.query.limit ?? 200));
    r.get('/dispatch/offers', {
      config: { roles: ['admin', 'service', 'rider'] as const },
      schema: { tags, summary: 'Open offers: a rider gets their own (and is granted fleet/{riderId}/offers to subscribe to: call this before subscribing); staff pass ?rider=', querystring: OfferQuery, response: { 200: OfferList } },
    }, async (req) => {
      const me = req.user!;
      if (me.role === 'rider') return service.openOffers(me.sub, true);
      if (!req.query.rider) throw new InfraError('INFRA_ERR_VALIDATION', 'rider is required with a staff token', { details: [{ path: 'querystring.rider', message: 'required' }] });
      return service.openOffers(req.query.rider, false);
    });
    r.post('/dispatch/offers/:id/accept', { config: rider, schema: { tags, summary: 'Accept an offer (own offers only): first accept wins; 409 INFRA_ERR_DISPATCH_OFFER_CLOSED when it is gone, INFRA_ERR_DISPATCH_RIDER_FULL at capacity', params: IdParams, response: { 200: JobView } } },
      async (req) => service.answer(req.params.id, req.user!.sub, true));
    r.post('/dispatch/offers/:id/reject', { config: rider, schema: { tags, summary: 'Reject an offer (own offers only); the job returns to the pool once every offer is answered', params: IdParams, response: { 200: JobView } } },
      async (req) => service.answer(req.params.id, req.user!.sub, false));
  };
}
