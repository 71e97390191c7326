import type { TokenClaims } from '@infra/core';
import { isSafeTopicSegment } from '@infra/core/topics';

/** `topic` is exactly `${prefix}${id}${suffix}`, checked without building the string (this runs on every packet). */
function isTopicOf(topic: string, prefix: string, id: string, suffix = ''): boolean {
  return topic.length === prefix.length + id.length + suffix.length && topic.startsWith(prefix) && topic.startsWith(id, prefix.length) && topic.endsWith(suffix);
}

/**
 * Default-deny topic rules. Backends (service, admin) may use any topic, wildcards included,
 * but never publish under $SYS/. Devices get their own inbox and presence; riders also their GPS
 * topic. Conversation membership widens subscriptions (channels, contacts' presence): see maySubscribeAsMember.
 * Plain string checks: this runs on every publish and subscribe.
 */
export function mayPublish(user: TokenClaims, topic: string): boolean {
  if (topic.charCodeAt(0) === 36 /* $ */) return false;
  if (user.role === 'service' || user.role === 'admin') return true;
  if (topic === 'im/send') return true;
  if (isTopicOf(topic, 'presence/', user.sub)) return true;
  return user.role === 'rider' && isTopicOf(topic, 'fleet/', user.sub, '/loc');
}

export function maySubscribe(user: TokenClaims, filter: string): boolean {
  if (user.role === 'service' || user.role === 'admin') return true;
  return isTopicOf(filter, 'im/u/', user.sub) || isTopicOf(filter, 'presence/', user.sub);
}

/** What the IM module knows about membership, for the rules that depend on it. */
export interface MembershipRules {
  mayReadChannel(userId: string, convId: string): Promise<boolean>;
  maySeePresence(viewer: string, subject: string): Promise<boolean>;
}

/**
 * The static rules first; then a channel's broadcast topic im/c/{convId} for its members, and presence/{userId}
 * of anyone who shares a conversation with the subscriber. Never wildcards for devices.
 */
export function maySubscribeAsMember(user: TokenClaims, filter: string, rules: MembershipRules): boolean | Promise<boolean> {
  if (maySubscribe(user, filter)) return true;
  if (filter.startsWith('im/c/')) {
    const convId = filter.slice(5);
    return isSafeTopicSegment(convId) && rules.mayReadChannel(user.sub, convId);
  }
  if (filter.startsWith('presence/')) {
    const subject = filter.slice(9);
    return isSafeTopicSegment(subject) && rules.maySeePresence(user.sub, subject);
  }
  return false;
}
