/**
 * MQTT topic names. Clients and services import these; nobody hand-writes a topic string.
 * Keep docs/mqtt.md in step.
 */
export const topics = {
  imSend: 'im/send',
  /** a device asks for a sync page over MQTT: {requestId, since?, limit?}; the answer is a `sync` event on im/u/{self} */
  imSync: 'im/sync',
  imUser: (userId: string) => `im/u/${userId}`,
  imChannel: (convId: string) => `im/c/${convId}`,
  presence: (userId: string) => `presence/${userId}`,
  fleetLocation: (riderId: string) => `fleet/${riderId}/loc`,
  order: (orderId: string) => `orders/${orderId}`,
  /** dispatch offers to one rider (grab strategy): offer, withdrawn, expired; the rider subscribes (granted by dispatch) */
  fleetOffers: (riderId: string) => `fleet/${riderId}/offers`,
  /** a rider's answer to an offer: {offerId, accept: boolean} (dispatch subscribes fleet/+/offers/reply on the bus) */
  fleetOfferReplies: (riderId: string) => `fleet/${riderId}/offers/reply`,
  /** WMS stock changes of one SKU (staff dashboards) */
  wmsStock: (sku: string) => `wms/stock/${sku}`,
  liveDanmaku: (streamId: string) => `live/${streamId}/danmaku`,
  liveLikes: (streamId: string) => `live/${streamId}/likes`,
  liveGifts: (streamId: string) => `live/${streamId}/gifts`,
  liveState: (streamId: string) => `live/${streamId}/state`,
  /** backends grant one user one exact topic (payload: TopicGrant); only service/admin tokens may publish here */
  aclGrants: 'infra/acl/grants',
} as const;

/**
 * A backend lets one user subscribe to one exact topic (no wildcards), e.g. a customer to orders/{id}, until it
 * revokes the grant or `expiresAt` (epoch ms) passes. After that the broker forwards nothing more on it to them.
 */
export type TopicGrant = { op: 'grant'; user: string; topic: string; expiresAt?: number } | { op: 'revoke'; user: string; topic: string };

/** A segment that is safe inside a topic: no wildcards, separators or control characters (the same alphabet as user ids). */
export function isSafeTopicSegment(s: string): boolean {
  return s.length > 0 && s.length <= 128 && /^[A-Za-z0-9_.:@-]+$/.test(s);
}

export { parseFix, distanceM, isImpossibleJump, riderOfFleetTopic, JumpDetector, type JumpVerdict, type FixPayload, type FixLimits, type FixVerdict, type FixRejection } from './fleet.js';
export { markValidatedFix, validatedFix } from './fleet.js';
export type { ConversationKind, MemberRole, ContentType, MessageType, SendRequest, ImMessage, ImEvent, PresenceState, EncryptedBody } from './im.js';
export type { FileKind, FileInfo, StickerPack } from './im.js';
