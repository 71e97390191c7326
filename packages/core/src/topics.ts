/**
 * MQTT topic names. Clients and services import these; nobody hand-writes a topic string.
 * Keep docs/mqtt.md in step.
 */
export const topics = {
  imSend: 'im/send',
  imUser: (userId: string) => `im/u/${userId}`,
  imChannel: (convId: string) => `im/c/${convId}`,
  presence: (userId: string) => `presence/${userId}`,
  fleetLocation: (riderId: string) => `fleet/${riderId}/loc`,
  order: (orderId: string) => `orders/${orderId}`,
  /** WMS stock changes of one SKU (staff dashboards) */
  wmsStock: (sku: string) => `wms/stock/${sku}`,
  liveDanmaku: (streamId: string) => `live/${streamId}/danmaku`,
  liveLikes: (streamId: string) => `live/${streamId}/likes`,
  liveGifts: (streamId: string) => `live/${streamId}/gifts`,
  liveState: (streamId: string) => `live/${streamId}/state`,
} as const;

/** A segment that is safe inside a topic: no wildcards, separators or control characters (the same alphabet as user ids). */
export function isSafeTopicSegment(s: string): boolean {
  return s.length > 0 && s.length <= 128 && /^[A-Za-z0-9_.:@-]+$/.test(s);
}

export type { ConversationKind, MemberRole, ContentType, MessageType, SendRequest, ImMessage, ImEvent, PresenceState } from './im.js';
