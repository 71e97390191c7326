import { describe, expect, it } from 'vitest';
import type { TokenClaims } from '@infra/core';
import { mayPublish, maySubscribe, maySubscribeAsMember } from './acl.js';

const as = (sub: string, role: TokenClaims['role']): TokenClaims => ({ sub, role, exp: 0 });

describe('topic ACL', () => {
  it('lets services and admins use any topic but never publish under $SYS', () => {
    for (const role of ['service', 'admin'] as const) {
      expect(mayPublish(as('s', role), 'orders/o1')).toBe(true);
      expect(mayPublish(as('s', role), '$SYS/broker/x')).toBe(false);
      expect(maySubscribe(as('s', role), '#')).toBe(true);
      expect(maySubscribe(as('s', role), 'fleet/+/loc')).toBe(true);
    }
  });

  it('gives a user its inbox, its presence and im/send only', () => {
    const u = as('u1', 'user');
    expect(maySubscribe(u, 'im/u/u1')).toBe(true);
    expect(maySubscribe(u, 'im/u/u2')).toBe(false);
    expect(maySubscribe(u, 'im/u/+')).toBe(false);
    expect(maySubscribe(u, '#')).toBe(false);
    expect(mayPublish(u, 'im/send')).toBe(true);
    expect(mayPublish(u, 'presence/u1')).toBe(true);
    expect(mayPublish(u, 'presence/u2')).toBe(false);
    expect(mayPublish(u, 'fleet/u1/loc')).toBe(false);
    expect(mayPublish(u, 'orders/o1')).toBe(false);
  });

  it('lets a rider publish its own GPS topic only', () => {
    const r = as('r1', 'rider');
    expect(mayPublish(r, 'fleet/r1/loc')).toBe(true);
    expect(mayPublish(r, 'fleet/r2/loc')).toBe(false);
    expect(mayPublish(r, 'fleet/r1/loc/extra')).toBe(false);
  });

  it('gives a rider its own dispatch offers and the reply topic, no one else’s', () => {
    const r = as('r1', 'rider');
    expect(maySubscribe(r, 'fleet/r1/offers')).toBe(true);
    expect(maySubscribe(r, 'fleet/r2/offers')).toBe(false);
    expect(maySubscribe(r, 'fleet/+/offers')).toBe(false);
    expect(mayPublish(r, 'fleet/r1/offers/reply')).toBe(true);
    expect(mayPublish(r, 'fleet/r2/offers/reply')).toBe(false);
    expect(mayPublish(r, 'fleet/r1/offers')).toBe(false);
    // a user with the same id gets none of it
    expect(maySubscribe(as('r1', 'user'), 'fleet/r1/offers')).toBe(false);
    expect(mayPublish(as('r1', 'user'), 'fleet/r1/offers/reply')).toBe(false);
  });
});

describe('membership ACL', () => {
  const rules = {
    mayReadChannel: async (user: string, conv: string) => user === 'u1' && conv === 'conv_ch',
    maySeePresence: async (viewer: string, subject: string) => viewer === 'u1' && subject === 'u2',
  };

  it('widens subscriptions by membership only, never to wildcards', async () => {
    const u = as('u1', 'user');
    expect(maySubscribeAsMember(u, 'im/u/u1', rules)).toBe(true);
    expect(await maySubscribeAsMember(u, 'im/c/conv_ch', rules)).toBe(true);
    expect(await maySubscribeAsMember(as('u3', 'user'), 'im/c/conv_ch', rules)).toBe(false);
    expect(await maySubscribeAsMember(u, 'presence/u2', rules)).toBe(true);
    expect(await maySubscribeAsMember(u, 'presence/u3', rules)).toBe(false);
    for (const f of ['im/c/+', 'im/c/#', 'presence/+', 'presence/#', 'im/c/conv_ch/x', 'im/u/u2']) expect(await maySubscribeAsMember(u, f, rules)).toBe(false);
  });

  it('matches own topics exactly (no prefix or suffix tricks)', () => {
    const u = as('u1', 'user');
    expect(maySubscribe(u, 'im/u/u1x')).toBe(false);
    expect(maySubscribe(u, 'im/u/u')).toBe(false);
    expect(mayPublish(u, 'presence/u1/x')).toBe(false);
    expect(mayPublish(as('r1', 'rider'), 'fleet/r1/locx')).toBe(false);
    expect(mayPublish(as('r1', 'rider'), 'fleet/r1x/loc')).toBe(false);
  });
});
