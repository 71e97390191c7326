import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DeliveryEventBody, EtaAccuracy, DeliveryList, DeliveryParams, DeliveryQuery, DeliveryView } from './schema.js';
import type { TokenClaims } from '@infra/core';
import type { DeliveryService } from './service.js';

const tags = ['delivery'];
const anyone = { roles: ['admin', 'service', 'user', 'rider', 'merchant'] as const };

export function deliveryRoutes(service: DeliveryService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const actor = (req: { user?: TokenClaims }) => ({ id: req.user!.sub, role: req.user!.role, ...(req.user!.merchant ? { merchant: req.user!.merchant } : {}) });
    r.get('/delivery', { config: anyone, schema: { tags, summary: 'Deliveries, newest first, by order or job (a rider sees their own, a customer the ones of their orders, merchant staff their merchant\'s)', querystring: DeliveryQuery, response: { 200: DeliveryList } } },
      async (req) => service.list(req.query, actor(req)));
    r.get('/delivery/eta-accuracy', { config: { roles: ['admin', 'service'] as const }, schema: { tags, summary: 'How far predicted arrivals were from actual ones: |actual - predicted| in minutes, p50 and p90, overall and per leg (pickup, drop-off)', response: { 200: EtaAccuracy } } },
      async () => service.eta.accuracy());
    r.get('/delivery/:id', { config: anyone, schema: { tags, summary: 'A delivery with its transition history (the one-time code is shown to the customer and staff, never to the rider)', params: DeliveryParams, response: { 200: DeliveryView } } },
      async (req) => service.get(req.params.id, actor(req)));
    r.post('/delivery/:id/events', {
      config: { roles: ['admin', 'service', 'rider'] as const },
      schema: { tags, summary: 'Fire a delivery event (start, pick_up, deliver with proof, customer_absent, address_wrong, …); 409 INFRA_ERR_ILLEGAL_TRANSITION lists the allowed ones, 422 INFRA_ERR_DELIVERY_PROOF without valid proof', params: DeliveryParams, body: DeliveryEventBody, response: { 200: DeliveryView } },
    }, async (req) => service.fire(req.params.id, req.body, actor(req)));
  };
}
