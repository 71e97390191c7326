export { PresenceTracker } from './tracker.js';
export { stalePresence } from './recover.js';
