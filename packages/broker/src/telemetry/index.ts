export { TelemetryGate, DROPPED_FIX_TOPIC, type TelemetryGateStats } from './gate.js';
export { RingQueue, useRingQueues } from './mq-queue.js';
