import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';
import { m0002 } from './migrations/0002_shipment_kind.js';

export const orderMigrations: ModuleMigrations = { module: 'orders', migrations: { '0001_init': m0001, '0002_shipment_kind': m0002 } };
export { OrderService } from './service.js';
export { orderRoutes } from './routes.js';
export { manualPayments, type PaymentProvider } from './payments.js';
