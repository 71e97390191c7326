import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';

export const riderMigrations: ModuleMigrations = { module: 'riders', migrations: { '0001_init': m0001 } };
export { RiderService, type RiderServiceOptions, type Fix, type AvailableRider, type AvailableQuery, type FleetSettings, type RiderActor, type TelemetryStats } from './service.js';
export { Geofences, type Fence, type FenceEvent } from './geofences.js';
export { riderRoutes } from './routes.js';
export { vehicles } from './schema.js';
