export { RecordingService, type FinishedSession } from './service.js';
export { AssetStore, type RecordingTables } from './store.js';
export { recordingRoutes } from './routes.js';
export * from './schema.js';
