import { describe, expect, it } from 'vitest';
import { newId, newSecret } from './ids.js';

const ID = /^ord_[0-9a-hjkmnp-tv-z]{26}$/; // Crockford base32, lower case: no i, l, o, u

describe('newId', () => {
  it('is the prefix, an underscore and 26 base32 characters', () => {
    expect(newId('ord')).toMatch(ID);
    expect(newId('ord', 0)).toMatch(/^ord_0000000000[0-9a-hjkmnp-tv-z]{16}$/);
  });

  it('encodes the time in the first 10 characters', () => {
    expect(newId('ord', 1).slice(4, 14)).toBe('0000000001');
    expect(newId('ord', 32).slice(4, 14)).toBe('0000000010');
    const t = Date.UTC(2026, 10, 25);
    expect(newId('a', t).slice(2, 12)).toBe(newId('b', t).slice(2, 12));
  });

  it('sorts by time, across digit carries and years', () => {
    const times = [0, 1, 31, 32, 1023, 1024, Date.UTC(2001, 0, 1), Date.UTC(2026, 0, 1), Date.UTC(2026, 0, 1) + 1, Date.UTC(2100, 0, 1), 2 ** 50 - 1];
    const ids = times.map((t) => newId('ord', t));
    expect([...ids].sort()).toEqual(ids);
  });

  it('10k ids with increasing times sort in creation order', () => {
    const start = Date.now();
    const ids = Array.from({ length: 10_000 }, (_, i) => newId('msg', start + i * 7));
    const shuffled = [...ids].sort(() => Math.random() - 0.5);
    expect(shuffled.sort()).toEqual(ids);
  });

  it('10k ids made in the same millisecond are unique', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newId('ord', now)));
    expect(ids.size).toBe(10_000);
  });

  it('10k ids made back to back are unique and never go back in time', () => {
    const ids = Array.from({ length: 10_000 }, () => newId('ord'));
    expect(new Set(ids).size).toBe(10_000);
    for (let i = 1; i < ids.length; i++) expect((ids[i] as string).slice(4, 14) >= (ids[i - 1] as string).slice(4, 14)).toBe(true);
  });
});

describe('newSecret', () => {
  it('is base64url of the requested bytes and random', () => {
    const s = newSecret();
    expect(s).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(Buffer.from(s, 'base64url')).toHaveLength(32);
    expect(Buffer.from(newSecret(16), 'base64url')).toHaveLength(16);
    expect(newSecret()).not.toBe(s);
  });
});
