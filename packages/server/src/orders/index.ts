import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';

export const orderMigrations: ModuleMigrations = { module: 'orders', migrations: { '0001_init': m0001 } };
export { OrderService } from './service.js';
export { orderRoutes } from './routes.js';
export { manualPayments, type PaymentProvider } from './payments.js';
