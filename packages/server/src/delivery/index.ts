import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';
import { m0002 } from './migrations/0002_merchant_units.js';

export const deliveryMigrations: ModuleMigrations = { module: 'delivery', migrations: { '0001_init': m0001, '0002_merchant_units': m0002 } };
export { DeliveryService } from './service.js';
export { deliveryRoutes } from './routes.js';
export { defaultDeliveryFlowYaml } from './default-flow.js';
