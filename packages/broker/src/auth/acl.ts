import type { TokenClaims } from '@infra/core';
import { isSafeTopicSegment } from '@infra/core/topics';

/** `topic` is exactly `${prefix}${id}${suffix}`, checked without building the string (this runs on every packet). */
function isTopicOf(topic: string, prefix: string, id: string, suffix = ''): boolean {
  return topic.length === prefix.length + id.length + suffix.length && topic.startsWith(prefix) && topic.startsWith(id, prefix.length) && topic.endsWith(suffix);
}

/**
 * Default-deny topic rules. Backends (service, admin) may use any topic, wildcards included,
 * but never publish under $SYS/. Devices get their own inbox and presence; riders also their GPS
 * topic, their dispatch offers (fleet/{self}/offers) and the answers to them (fleet/{self}/offers/reply). Conversation membership widens subscriptions (channels, contacts' presence): see maySubscribeAsMember.
 * Plain string checks: this runs on every publish and subscribe.
 */
export function mayPublish(user: TokenClaims, topic: string): boolean {
  if (topic.charCodeAt(0) === 36 /* $ */) return false;
  if (user.role === 'service' || user.role === 'admin') return true;
  if (topic === 'im/send' || topic === 'im/sync') return true;
  if (isTopicOf(topic, 'presence/', user.sub)) return true;
  return user.role === 'rider' && (isTopicOf(topic, 'fleet/', user.sub, '/loc') || isTopicOf(topic, 'fleet/', user.sub, '/offers/reply'));
}

export function maySubscribe(user: TokenClaims, filter: string): boolean {
  if (user.role === 'service' || user.role === 'admin') return true;
  return isTopicOf(filter, 'im/u/', user.sub) || isTopicOf(filter, 'presence/', user.sub) || isRiderInbox(user, filter);
}

/** A rider's dispatch offers: fleet/{riderId}/offers, its own only. */
function isRiderInbox(user: TokenClaims, topic: string): boolean {
  return user.role === 'rider' && isTopicOf(topic, 'fleet/', user.sub, '/offers');
}

/** What the IM module knows about membership, for the rules that depend on it. */
export interface MembershipRules {
  mayReadChannel(userId: string, convId: string): Promise<boolean>;
  maySeePresence(viewer: string, subject: string): Promise<boolean>;
}

/** Topic grants backends hand out (packages/broker/src/grants): one user, one exact topic. */
export interface GrantRules {
  allows(userId: string, topic: string): boolean;
  /** resolves true once a grant arrives, false after `ms` */
  waitFor(userId: string, topic: string, ms: number): Promise<boolean>;
}

/**
 * How long a subscribe without a grant waits for one. A backend writes the grant in the same transaction as the
 * change that warrants it (an order for its customer) and relays it right after commit, so a client that subscribes
 * as soon as the HTTP answer arrives can be a few milliseconds ahead of its grant.
 */
export const GRANT_WAIT_MS = 1000;

/**
 * The static rules first; then a channel's broadcast topic im/c/{convId} for its members, presence/{userId}
 * of anyone who shares a conversation with the subscriber, and any exact topic a backend granted the user.
 * Never wildcards for devices.
 */
export function maySubscribeAsMember(user: TokenClaims, filter: string, rules: MembershipRules, grants?: GrantRules): boolean | Promise<boolean> {
  if (maySubscribe(user, filter)) return true;
  if (filter.startsWith('im/c/')) {
    const convId = filter.slice(5);
    return isSafeTopicSegment(convId) && rules.mayReadChannel(user.sub, convId);
  }
  if (filter.startsWith('presence/')) {
    const subject = filter.slice(9);
    return isSafeTopicSegment(subject) && rules.maySeePresence(user.sub, subject);
  }
  if (!grants || filter.startsWith('im/') || filter.includes('+') || filter.includes('#') || filter.charCodeAt(0) === 36 /* $ */) return false;
  return grants.allows(user.sub, filter) || grants.waitFor(user.sub, filter, GRANT_WAIT_MS);
}

/**
 * Whether a message on `topic` may still go to a device subscribed to it: its inbox, presence and channels are
 * governed at subscribe time and by the channel audience; everything else a device can only have through a grant,
 * so a revoked or expired grant stops delivery even though the subscription stays in the session.
 */
export function needsGrantToReceive(user: TokenClaims, topic: string): boolean {
  return !(topic.startsWith('im/') || topic.startsWith('presence/') || isRiderInbox(user, topic));
}
