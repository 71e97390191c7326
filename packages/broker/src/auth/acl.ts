import type { TokenClaims } from '@infra/core';

/**
 * Default-deny topic rules. Backends (service, admin) may use any topic, wildcards included,
 * but never publish under $SYS/. Devices get their own inbox and presence; riders also their GPS
 * topic. Conversation and channel membership widen this in the IM module.
 * Plain string checks: this runs on every publish and subscribe.
 */
export function mayPublish(user: TokenClaims, topic: string): boolean {
  if (topic.startsWith('$')) return false;
  if (user.role === 'service' || user.role === 'admin') return true;
  if (topic === 'im/send') return true;
  if (topic === `presence/${user.sub}`) return true;
  return user.role === 'rider' && topic === `fleet/${user.sub}/loc`;
}

export function maySubscribe(user: TokenClaims, filter: string): boolean {
  if (user.role === 'service' || user.role === 'admin') return true;
  return filter === `im/u/${user.sub}` || filter === `presence/${user.sub}`;
}
