import type { Readable } from 'node:stream';
import type { PresenceState } from '@infra/core/topics';

interface RetainedPacket {
  topic: string;
  payload: Buffer | string;
}

/**
 * At start nobody is connected, so a retained presence that says online/away is a leftover of a crash
 * (a clean shutdown publishes offline). Returns those states turned offline, for the broker to publish.
 */
export async function stalePresence(persistence: { createRetainedStream(pattern: string): Readable }): Promise<PresenceState[]> {
  const out: PresenceState[] = [];
  for await (const packet of persistence.createRetainedStream('presence/+') as AsyncIterable<RetainedPacket>) {
    try {
      const state = JSON.parse(packet.payload.toString()) as Partial<PresenceState>;
      if (state.status !== 'online' && state.status !== 'away') continue;
      const userId = packet.topic.slice('presence/'.length);
      out.push({ userId, status: 'offline', devices: [], lastSeen: typeof state.lastSeen === 'string' ? state.lastSeen : new Date().toISOString() });
    } catch {
      /* not ours: leave it */
    }
  }
  return out;
}
