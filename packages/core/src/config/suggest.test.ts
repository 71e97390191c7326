import { describe, expect, it } from 'vitest';
import { editDistance, nearest } from './suggest.js';

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', '', 3],
    ['', 'abc', 3],
    ['http', 'http', 0],
    ['htpp', 'http', 1],
    ['prot', 'port', 2], // a transposition costs two edits (no Damerau)
    ['kitten', 'sitting', 3],
    ['port', 'ports', 1],
  ])('%j to %j is %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });
});

describe('nearest', () => {
  const top = ['version', 'name', 'services', 'modules', 'http', 'mqtt', 'media', 'data', 'storage', 'auth', 'log', 'startup'];

  it('suggests the known key a typo is closest to', () => {
    expect(nearest('htpp', top)).toBe('http');
    expect(nearest('prot', ['port', 'websocket', 'maxPacketBytes'])).toBe('port');
    expect(nearest('servces', top)).toBe('services');
    expect(nearest('verison', top)).toBe('version');
  });

  it('ignores case when comparing, and returns the known spelling', () => {
    expect(nearest('HTTP', top)).toBe('http');
    expect(nearest('bodylimit', ['host', 'port', 'bodyLimit', 'publicUrl'])).toBe('bodyLimit');
  });

  it('suggests nothing for a word far from every key', () => {
    expect(nearest('colour', ['host', 'port', 'bodyLimit', 'publicUrl'])).toBeUndefined();
    expect(nearest('zzzzzzzzzz', top)).toBeUndefined();
    expect(nearest('anything', [])).toBeUndefined();
  });
});
