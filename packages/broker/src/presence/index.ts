export { PresenceTracker } from './tracker.js';
export { stalePresence } from './recover.js';
export { IdleWatch, MAX_KEEPALIVE_S } from './heartbeat.js';
