import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';

export const deliveryMigrations: ModuleMigrations = { module: 'delivery', migrations: { '0001_init': m0001 } };
export { DeliveryService } from './service.js';
export { deliveryRoutes } from './routes.js';
export { defaultDeliveryFlowYaml } from './default-flow.js';
