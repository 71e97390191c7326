import { describe, expect, it } from 'vitest';
import { streamKeyFor, streamKeyMac, verifyStreamKey } from './stream-keys.js';

const SALT = 's'.repeat(40);

describe('stream keys', () => {
  it('the mac is 32 base64url characters and deterministic', () => {
    const mac = streamKeyMac(SALT, 'live1');
    expect(mac).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(streamKeyMac(SALT, 'live1')).toBe(mac);
  });

  it('differs per stream and per salt', () => {
    expect(streamKeyMac(SALT, 'live1')).not.toBe(streamKeyMac(SALT, 'live2'));
    expect(streamKeyMac(SALT, 'live1')).not.toBe(streamKeyMac('t'.repeat(40), 'live1'));
  });

  it('streamKeyFor is `<streamId>?key=<mac>`, and the id part carries no secret', () => {
    const key = streamKeyFor(SALT, 'live1');
    expect(key).toBe(`live1?key=${streamKeyMac(SALT, 'live1')}`);
    expect(key).not.toContain(SALT);
  });

  it('verifyStreamKey accepts the right mac', () => {
    expect(verifyStreamKey(SALT, 'live1', streamKeyMac(SALT, 'live1'))).toBe(true);
    const mac = new URLSearchParams(streamKeyFor(SALT, 'live1').split('?')[1]).get('key');
    expect(verifyStreamKey(SALT, 'live1', mac)).toBe(true);
  });

  it('verifyStreamKey rejects a wrong mac', () => {
    const mac = streamKeyMac(SALT, 'live1');
    const flipped = (mac[0] === 'A' ? 'B' : 'A') + mac.slice(1);
    expect(verifyStreamKey(SALT, 'live1', flipped)).toBe(false);
    expect(verifyStreamKey(SALT, 'live1', streamKeyMac(SALT, 'live2'))).toBe(false);
    expect(verifyStreamKey('t'.repeat(40), 'live1', mac)).toBe(false);
    expect(verifyStreamKey(SALT, 'live2', mac)).toBe(false);
  });

  it('verifyStreamKey rejects a mac of another length, without throwing', () => {
    const mac = streamKeyMac(SALT, 'live1');
    expect(verifyStreamKey(SALT, 'live1', mac.slice(0, -1))).toBe(false);
    expect(verifyStreamKey(SALT, 'live1', `${mac}x`)).toBe(false);
    expect(verifyStreamKey(SALT, 'live1', '')).toBe(false);
    // 31 ASCII characters + one two-byte character: 32 characters, 33 bytes
    expect(verifyStreamKey(SALT, 'live1', `${mac.slice(0, -1)}é`)).toBe(false);
  });

  it.each([undefined, null, 42, ['x'], { key: 'x' }])('verifyStreamKey rejects a non-string mac (%j)', (mac) => {
    expect(verifyStreamKey(SALT, 'live1', mac)).toBe(false);
  });
});
