export { ReviewService } from './service.js';
export { ReviewStore, type ReviewTables } from './store.js';
export { reviewRoutes } from './routes.js';
export * from './schema.js';
