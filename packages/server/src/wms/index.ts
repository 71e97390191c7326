import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';
import { m0002 } from './migrations/0002_waves.js';
import { m0003 } from './migrations/0003_lot_holds.js';
import { m0004 } from './migrations/0004_pick_serials.js';

export const wmsMigrations: ModuleMigrations = { module: 'wms', migrations: { '0001_init': m0001, '0002_waves': m0002, '0003_lot_holds': m0003, '0004_pick_serials': m0004 } };
export { WmsService, type Allocation } from './service.js';
export { wmsRoutes } from './routes.js';
export { WaveService } from './waves.js';
