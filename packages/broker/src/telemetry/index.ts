export { TelemetryGate, DROPPED_FIX_TOPIC, type TelemetryGateStats } from './gate.js';
