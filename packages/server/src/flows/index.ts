import { m0001 } from './migrations/0001_init.js';
import type { ModuleMigrations } from '@infra/core';

export const flowMigrations: ModuleMigrations = { module: 'flows', migrations: { '0001_init': m0001 } };
export * from './definition.js';
export * from './engine.js';
export { defaultOrderFlowYaml } from './default-order.js';
export { startTimeoutSweeper, type TimeoutSink } from './timeouts.js';
