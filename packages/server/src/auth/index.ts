export { AuthService } from './service.js';
export { authRoutes } from './routes.js';
export * from './schema.js';
