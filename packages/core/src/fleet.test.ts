import { describe, expect, it } from 'vitest';
import { mulberry32 as seeded } from './random.js';
import { parseFix, type FixLimits } from './fleet.js';

const limits: FixLimits = { maxBytes: 512, maxFutureMs: 60_000, maxAgeMs: 3_600_000 };
const now = 1_764_000_000_000;

describe('parseFix', () => {
  it('reads a Buffer exactly as JSON.parse reads its text (hand-picked shapes, and 20,000 generated and mutated payloads)', () => {
    const random = seeded(11);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
    const number = (): string => {
      const r = random();
      if (r < 0.15) {
        // 14 to 19 significant digits: around the fast path's limit, where an inexact mantissa would round twice
        const digits = Array.from({ length: 14 + Math.floor(random() * 6) }, (_, i) => (i === 0 ? 1 + Math.floor(random() * 9) : Math.floor(random() * 10))).join('');
        const dot = 1 + Math.floor(random() * (digits.length - 1));
        return `${digits.slice(0, dot)}.${digits.slice(dot)}`;
      }
      if (r < 0.3) return (random() * 180 - 90).toFixed(Math.floor(random() * 12));
      if (r < 0.4) return String(Math.floor(random() * 2 ** 53) * (random() < 0.5 ? -1 : 1));
      if (r < 0.5) return `${pick(['', '-'])}${Math.floor(random() * 1000)}.${Math.floor(random() * 1e9)}${pick(['e', 'E'])}${pick(['', '+', '-'])}${Math.floor(random() * 30)}`;
      if (r < 0.6) return pick(['0', '-0', '0.0', '0e5', '1e22', '1e23', '1e-22', '1e-23', '123456789012345', '1234567890123456', '0.1234567890123456789', '9007199254740993', '1.7976931348623157e308', '5e-324', '1e400']);
      if (r < 0.7) return pick(['01', '1.', '.5', '+1', '1e', '-', '--1', '1.e3', '0x10', 'NaN', 'Infinity', '"52.1"', 'true', 'null', '[1]', '{}', '1_000']);
      return String(now - Math.floor(random() * 4_000_000));
    };
    const key = (): string => pick(['lat', 'lng', 'ts', 'speed', 'heading', 'accuracy', 'flag', 't', 'la', 'latt', 'l\\u0061t', '__proto__', 'ünï', '']);
    const ws = (): string => (random() < 0.8 ? '' : pick([' ', '\n', '\t', '\r', '  ']));
    const payloads: (string | Buffer)[] = [
      '{"lat":52.520008,"lng":13.404954,"speed":4.2,"heading":45,"accuracy":6,"ts":1764000000000,"t":123.456}',
      '{"lat":52.5,"lng":13.4,"ts":1764000000000,"flag":"speed"}', '{}', '{ }', '[1,2]', '52', '"x"', 'null', '', ' ', '{"lat":1,}', '{,}', '{"lat":1 "lng":2}',
      '{"lat":1,"lat":2,"lng":3,"ts":1764000000000}', '{"lat":-0,"lng":-0.0,"ts":1764000000000}', '\ufeff{"lat":1,"lng":2,"ts":1764000000000}',
      Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
    ];
    for (let n = 0; n < 20_000; n++) {
      const fields = Array.from({ length: 1 + Math.floor(random() * 8) }, () => `${ws()}"${key()}"${ws()}:${ws()}${number()}${ws()}`);
      if (random() < 0.5) fields.push(`"lat":${(random() * 180 - 90).toFixed(6)}`, `"lng":${(random() * 360 - 180).toFixed(6)}`, `"ts":${now - Math.floor(random() * 4_000_000)}`);
      fields.sort(() => random() - 0.5);
      let text = `${ws()}{${fields.join(',')}}${ws()}`;
      if (random() < 0.2) {
        // a mutation: a byte changed, dropped or added anywhere
        const at = Math.floor(random() * text.length);
        const op = random();
        const c = pick(['{', '}', '"', ',', ':', '.', 'e', '-', '0', '9', ' ', '\\', 'x', '\u0001']);
        text = op < 0.33 ? text.slice(0, at) + c + text.slice(at + 1) : op < 0.66 ? text.slice(0, at) + text.slice(at + 1) : text.slice(0, at) + c + text.slice(at);
      }
      payloads.push(text);
    }
    let accepted = 0;
    for (const p of payloads) {
      const text = typeof p === 'string' ? p : p.toString('utf8');
      const fromBytes = parseFix(typeof p === 'string' ? Buffer.from(p) : p, now, limits);
      const fromText = parseFix(text, now, limits); // a string always goes through JSON.parse
      expect([text, fromBytes]).toEqual([text, fromText]);
      if (fromBytes.ok) {
        accepted++;
        for (const k of ['lat', 'lng', 'ts'] as const) expect(Object.is(fromBytes.fix[k], (fromText as typeof fromBytes).fix[k])).toBe(true);
      }
    }
    expect(accepted).toBeGreaterThan(2000); // the generator does reach valid fixes
  });
});
