import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import {
  AdjustBody, CountBody, CountReply, IdParams, LocationBody, LocationList, LocationQuery, LocationView, MoveBody, OkReply, PutawayBody, ReceiptBody, ReceiptView,
  SkuBody, SkuList, SkuView, StockQuery, StockView, TraceQuery, TraceView, WarehouseBody, WarehouseList, WarehouseView, WaveBody, WaveView, ScanBody, QuarantineBody, QuarantineReply,
} from './schema.js';
import type { WmsService } from './service.js';
import type { WaveService } from './waves.js';

const staff = { roles: ['admin', 'service'] as const };
const tags = ['wms'];

export function wmsRoutes(service: WmsService, waves: WaveService): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    const actor = (req: { user?: { sub: string; role: import('@infra/core').Role } }) => ({ id: req.user!.sub, role: req.user!.role });
    r.post('/wms/warehouses', { config: staff, schema: { tags, summary: 'Create a warehouse', body: WarehouseBody, response: { 201: WarehouseView } } },
      async (req, reply) => reply.code(201).send(await service.createWarehouse(req.body)));
    r.get('/wms/warehouses', { config: staff, schema: { tags, summary: 'List warehouses', response: { 200: WarehouseList } } }, async () => service.listWarehouses());
    r.post('/wms/locations', { config: staff, schema: { tags, summary: 'Create a bin (zone/aisle/bin) in a warehouse', body: LocationBody, response: { 201: LocationView } } },
      async (req, reply) => reply.code(201).send(await service.createLocation(req.body)));
    r.get('/wms/locations', { config: staff, schema: { tags, summary: 'List the bins of a warehouse', querystring: LocationQuery, response: { 200: LocationList } } },
      async (req) => service.listLocations(req.query.warehouse));
    r.post('/wms/skus', { config: staff, schema: { tags, summary: 'Create a SKU (optionally lot- or serial-tracked)', body: SkuBody, response: { 201: SkuView } } },
      async (req, reply) => reply.code(201).send(await service.createSku(req.body)));
    r.get('/wms/skus', { config: staff, schema: { tags, summary: 'List SKUs', response: { 200: SkuList } } }, async () => service.listSkus());
    r.post('/wms/receipts', { config: staff, schema: { tags, summary: 'Announce a receipt (ASN lines)', body: ReceiptBody, response: { 201: ReceiptView } } },
      async (req, reply) => reply.code(201).send(await service.createReceipt(req.body)));
    r.post('/wms/receipts/:id/putaway', { config: staff, schema: { tags, summary: 'Receive and put away a receipt (lines without a location follow the putaway rule)', params: IdParams, body: PutawayBody, response: { 200: ReceiptView } } },
      async (req) => service.putaway(req.params.id, req.body, actor(req)));
    r.post('/wms/adjustments', { config: staff, schema: { tags, summary: 'Adjust on-hand by a signed quantity, with a reason', body: AdjustBody, response: { 200: OkReply } } },
      async (req) => service.adjust(req.body, actor(req)));
    r.post('/wms/counts', { config: staff, schema: { tags, summary: 'Record a cycle count; a variance adjusts stock and raises stock_discrepancy', body: CountBody, response: { 200: CountReply } } },
      async (req) => service.count(req.body, actor(req)));
    r.post('/wms/moves', { config: staff, schema: { tags, summary: 'Move stock between bins', body: MoveBody, response: { 200: OkReply } } },
      async (req) => service.move(req.body, actor(req)));
    r.get('/wms/stock', { config: staff, schema: { tags, summary: 'On-hand, reserved and available of a SKU, by location and by lot', querystring: StockQuery, response: { 200: StockView } } },
      async (req) => service.stock(req.query.sku, req.query.warehouse));
    r.post('/wms/waves', { config: staff, schema: { tags, summary: 'Group the held stock of orders into a pick wave (tasks sorted by bin)', body: WaveBody, response: { 201: WaveView } } },
      async (req, reply) => reply.code(201).send(await waves.create(req.body, actor(req))));
    r.get('/wms/waves/:id', { config: staff, schema: { tags, summary: 'A wave and its pick tasks', params: IdParams, response: { 200: WaveView } } },
      async (req) => waves.get(req.params.id));
    r.post('/wms/waves/:id/scan', { config: staff, schema: { tags, summary: 'Confirm a pick by scanning SKU and bin; 409 for a wrong item or bin', params: IdParams, body: ScanBody, response: { 200: WaveView } } },
      async (req) => waves.scan(req.params.id, req.body, actor(req)));
    r.post('/wms/lots/quarantine', { config: staff, schema: { tags, summary: 'Quarantine a lot (never allocated while held) or release it', body: QuarantineBody, response: { 200: QuarantineReply } } },
      async (req) => service.quarantine(req.body, actor(req)));
    r.get('/wms/trace', { config: staff, schema: { tags, summary: 'Every movement of a lot or serial (or SKU)', querystring: TraceQuery, response: { 200: TraceView } } },
      async (req) => service.trace(req.query));
  };
}
