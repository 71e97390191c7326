export { StreamService, playbackUrls, type PublicOrigins, type PublishVerdict } from './service.js';
export { StreamStore, type StreamTables } from './store.js';
export { streamRoutes } from './routes.js';
export * from './schema.js';
