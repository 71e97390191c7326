import type { ModuleMigrations } from '@infra/core';
import { m0001 } from './migrations/0001_init.js';

export const dispatchMigrations: ModuleMigrations = { module: 'dispatch', migrations: { '0001_init': m0001 } };
export { DispatchService, type AssignmentHook, type DispatchSettings } from './service.js';
export { LOAD_PENALTY_S, planBatch } from './batch.js';
export { dispatchRoutes } from './routes.js';
export { listenForOfferReplies } from './replies.js';
export { minCostAssignment, type Assignment } from './assignment.js';
export type { JobRow } from './store.js';
