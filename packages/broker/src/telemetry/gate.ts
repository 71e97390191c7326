import type { PublishPacket } from 'aedes';
import type { InfraConfig, Logger } from '@infra/core';
import { JumpDetector, markValidatedFix, parseFix, riderOfFleetTopic, type FixLimits, type FixRejection } from '@infra/core/topics';

/**
 * Where an invalid fix goes instead of fleet/{riderId}/loc. MQTT 3.1.1 lets a server refuse a PUBLISH only by
 * closing the connection or by acknowledging it and not delivering it [MQTT-3.3.5-2]; aedes 1.2 implements the first
 * (an error from authorizePublish closes the connection) and has no hook for the second. So the gate acknowledges
 * the fix and re-points it at this topic, which no device can subscribe to (the ACL refuses `$` filters to devices,
 * and aedes never matches `#`/`+` subscriptions against `$` topics). Backends may subscribe to it to watch drops.
 */
export const DROPPED_FIX_TOPIC = '$infra/telemetry/dropped';

export interface TelemetryGateStats {
  accepted: number;
  dropped: number;
  droppedBy: Partial<Record<FixRejection, number>>;
  flagged: number;
}

/**
 * The fleet/{riderId}/loc topic handler, run inside authorizePublish after the ACL: validates each fix cheaply
 * (size, JSON, ranges, ts not in the future beyond fleet.maxFutureMs nor older than fleet.maxAgeMs), drops invalid
 * ones without disconnecting the rider (counted, logged at most every 10 s), and flags a jump faster than
 * fleet.maxSpeedKmh by adding `"flag":"speed"` to the payload (accepted, counted). Fixes are never retained.
 * Only topics starting with `fleet/` reach it: every other topic keeps its allocation-free path.
 */
export class TelemetryGate {
  readonly stats: TelemetryGateStats = { accepted: 0, dropped: 0, droppedBy: {}, flagged: 0 };
  private readonly limits: FixLimits;
  private readonly jumps: JumpDetector;
  private lastLog = 0;
  private droppedSinceLog = 0;

  constructor(settings: InfraConfig['fleet'], private readonly log: Logger, private readonly now: () => number = Date.now) {
    this.limits = { maxBytes: settings.maxFixBytes, maxFutureMs: settings.maxFutureMs, maxAgeMs: settings.maxAgeMs };
    this.jumps = new JumpDetector(settings.maxSpeedKmh);
  }

  /** Inspects one authorised publish in place. Topics other than fleet/{id}/loc pass untouched. */
  inspect(clientId: string, packet: PublishPacket): void {
    const riderId = riderOfFleetTopic(packet.topic);
    if (riderId === undefined) return;
    packet.retain = false;
    const now = this.now();
    const v = parseFix(packet.payload, now, this.limits);
    if (!v.ok) {
      this.stats.dropped++;
      this.stats.droppedBy[v.reason] = (this.stats.droppedBy[v.reason] ?? 0) + 1;
      this.droppedSinceLog++;
      if (now - this.lastLog >= 10_000) {
        this.log.warn({ clientId, riderId, reason: v.reason, dropped: this.droppedSinceLog, droppedBy: this.stats.droppedBy }, 'invalid fixes dropped (logged at most every 10 s)');
        this.lastLog = now;
        this.droppedSinceLog = 0;
      }
      packet.topic = DROPPED_FIX_TOPIC;
      return;
    }
    this.stats.accepted++;
    if (this.jumps.check(riderId, v.fix) === 'flagged') {
      this.stats.flagged++;
      v.fix.flag = 'speed';
      packet.payload = Buffer.from(JSON.stringify(v.fix));
    }
    // the in-process RiderService takes this result instead of parsing the same bytes again
    markValidatedFix(packet.payload, v.fix);
  }
}
