import { describe, expect, it } from 'vitest';
import { OncePerClient } from './dedupe.js';

describe('OncePerClient', () => {
  it('drops only the same publish handed to a client again, never an older one that comes late', () => {
    const once = new OncePerClient();
    const a = {};
    const b = {};
    const p = (n: number, id = 'broker-1') => ({ brokerId: id, brokerCounter: n });
    expect([once.isRepeat(a, p(5)), once.isRepeat(a, p(5))]).toEqual([false, true]); // two subscriptions matched publish 5
    expect([once.isRepeat(a, p(9)), once.isRepeat(a, p(7)), once.isRepeat(a, p(8))]).toEqual([false, false, false]); // 7 and 8 came late: delivered
    expect(once.isRepeat(b, p(9))).toBe(false); // per client
    expect(once.isRepeat(a, p(8, 'broker-2'))).toBe(false); // another broker's numbering
    expect(once.isRepeat(a, {})).toBe(false); // not numbered: never taken for a repeat
  });

  it('turns aedes’ own high-water mark off, and says when a client lacks one', () => {
    const once = new OncePerClient();
    const client = { duplicates: Object.create(null) as Record<string, number> };
    expect(once.adopt(client)).toBe(true);
    client.duplicates['broker-1'] = 9; // what aedes writes after forwarding packet 9
    expect((client.duplicates['broker-1'] || 0) < 7).toBe(true); // so its check lets a late packet 7 through
    delete client.duplicates['broker-1'];
    expect(once.adopt({})).toBe(false);
  });
});
