import { describe, expect, it } from 'vitest';
import { createDecipheriv, createHash } from 'node:crypto';
import { BodyCipher } from './cipher.js';

const secret = 's'.repeat(40);

describe('BodyCipher (AES-256-GCM at rest)', () => {
  it('seals iv | tag | ciphertext that opens only with the same context, for short and long contexts alike', () => {
    const cipher = new BodyCipher(`k1:${secret}`);
    // the context's bytes go through a reused buffer that grows: a long one after short ones, then short again
    const contexts = ['c\nu\nm', `c\n${'ü'.repeat(600)}\nm`, 'c2\nu\nm2'];
    const plain = JSON.stringify({ text: 'hello ✓ '.repeat(50) });
    for (const context of contexts) {
      const sealed = cipher.seal(plain, context);
      expect(sealed.keyId).toBe('k1');
      expect(cipher.open(sealed.body, 'k1', context)).toBe(plain);
      for (const other of contexts.filter((c) => c !== context)) expect(() => cipher.open(sealed.body, 'k1', other)).toThrow();
      // the layout is the documented one, readable with node:crypto alone
      const raw = Buffer.from(sealed.body, 'base64');
      const d = createDecipheriv('aes-256-gcm', createHash('sha256').update(secret).digest(), raw.subarray(0, 12));
      d.setAAD(Buffer.from(context));
      d.setAuthTag(raw.subarray(12, 28));
      expect(Buffer.concat([d.update(raw.subarray(28)), d.final()]).toString('utf8')).toBe(plain);
    }
    // fresh nonce per seal: the same body twice is two different ciphertexts
    expect(cipher.seal(plain, 'x').body).not.toBe(cipher.seal(plain, 'x').body);
  });
});
