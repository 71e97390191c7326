import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { CreateOrderBody, IdempotencyHeaders, ListOrdersQuery, OrderEventBody, OrderList, OrderParams, OrderView, ShipBody, ShipmentParams } from './schema.js';
import type { OrderService } from './service.js';

const tags = ['orders'];
const anyone = { roles: ['admin', 'service', 'user'] as const };

export function orderRoutes(service: OrderService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const actor = (req: { user?: { sub: string; role: import('@infra/core').Role } }) => ({ id: req.user!.sub, role: req.user!.role });
    r.post('/orders', {
      config: anyone,
      schema: { tags, summary: 'Create an order: totals computed here, stock reserved (FEFO/FIFO), 409 INFRA_ERR_OUT_OF_STOCK when short. Honours Idempotency-Key.', headers: IdempotencyHeaders, body: CreateOrderBody, response: { 201: OrderView } },
    }, async (req, reply) => {
      const { order, replayed } = await service.create(req.body, actor(req), req.headers['idempotency-key']);
      if (replayed) void reply.header('idempotent-replayed', 'true');
      return reply.code(201).send(order);
    });
    r.get('/orders', { config: anyone, schema: { tags, summary: 'List orders, newest first (a customer sees only their own); cursor pagination', querystring: ListOrdersQuery, response: { 200: OrderList } } },
      async (req) => service.list(req.query, actor(req)));
    r.get('/orders/:id', { config: { roles: ['admin', 'service', 'user', 'rider'] as const }, schema: { tags, summary: 'An order with lines, allocations, shipments, payments and its transition history', params: OrderParams, response: { 200: OrderView } } },
      async (req) => service.get(req.params.id, actor(req)));
    r.post('/orders/:id/events', {
      config: { roles: ['admin', 'service', 'user', 'rider'] as const },
      schema: { tags, summary: 'Fire a flow event (pay, start_picking, pack, ship, deliver, cancel, …); 409 INFRA_ERR_ILLEGAL_TRANSITION lists the allowed events', params: OrderParams, body: OrderEventBody, response: { 200: OrderView } },
    }, async (req) => service.fire(req.params.id, req.body, actor(req)));
    const staff = { roles: ['admin', 'service'] as const };
    r.post('/orders/:id/shipments/:shipmentId/ship', {
      config: staff,
      schema: { tags, summary: "Ship one shipment (one warehouse's stock) with carrier and tracking number; the order fires `ship` when its last shipment has left", params: ShipmentParams, body: ShipBody, response: { 200: OrderView } },
    }, async (req) => service.shipShipment(req.params.id, req.params.shipmentId, req.body, actor(req)));
    r.post('/orders/:id/shipments/:shipmentId/deliver', {
      config: staff,
      schema: { tags, summary: 'Mark one shipped shipment delivered; the order fires `deliver` when every shipment has arrived', params: ShipmentParams, response: { 200: OrderView } },
    }, async (req) => service.deliverShipment(req.params.id, req.params.shipmentId, actor(req)));
  };
}
