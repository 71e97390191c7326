import { x25519 } from '@noble/curves/ed25519.js';
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { randomBytes } from '@noble/hashes/utils.js';
import type { ContentType, EncryptedBody } from '@infra/core/topics';

const ALG = 'x25519-hkdf-sha256-xchacha20poly1305' as const;
const INFO = new TextEncoder().encode('infra-e2ee-v1');
const utf8 = new TextEncoder();

function b64u(bytes: Uint8Array): string {
  let s = '';
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
function unb64u(s: string): Uint8Array {
  const bin = atob(s.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (s.length % 4)) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The message inside an `encrypted` one. */
export interface SealedMessage {
  type: Exclude<ContentType, 'encrypted' | 'system'>;
  body: Record<string, unknown>;
}

/**
 * A user's end-to-end key pair (X25519). The secret key never leaves the app: persist `exportSecretKey()` in the
 * device's secure storage and restore it with `fromSecretKey`; every device of the user needs the same key to read
 * old messages. Both members of a direct conversation derive the same message key (ECDH, then HKDF-SHA256 with the
 * conversation id as salt), so the sender reads its own sent messages too.
 */
export class E2eeKeys {
  private readonly keyCache = new Map<string, Uint8Array>();

  private constructor(private readonly secret: Uint8Array, readonly publicKey: string) {}

  static generate(): E2eeKeys {
    const secret = x25519.utils.randomSecretKey();
    return new E2eeKeys(secret, b64u(x25519.getPublicKey(secret)));
  }

  static fromSecretKey(secretKey: string): E2eeKeys {
    const secret = unb64u(secretKey);
    if (secret.length !== 32) throw new Error('an X25519 secret key is 32 bytes (base64url)');
    return new E2eeKeys(secret, b64u(x25519.getPublicKey(secret)));
  }

  exportSecretKey(): string {
    return b64u(this.secret);
  }

  private messageKey(convId: string, peerPublicKey: string): Uint8Array {
    const cacheKey = `${convId}\n${peerPublicKey}`;
    let key = this.keyCache.get(cacheKey);
    if (!key) {
      key = hkdf(sha256, x25519.getSharedSecret(this.secret, unb64u(peerPublicKey)), utf8.encode(convId), INFO, 32);
      this.keyCache.set(cacheKey, key);
    }
    return key;
  }

  /** Seals `message` for the conversation with the peer whose public key is given; bound to convId and sender. */
  seal(convId: string, senderId: string, peerPublicKey: string, message: SealedMessage): EncryptedBody {
    const nonce = randomBytes(24);
    const aad = utf8.encode(`${convId}\n${senderId}`);
    const ciphertext = xchacha20poly1305(this.messageKey(convId, peerPublicKey), nonce, aad).encrypt(utf8.encode(JSON.stringify(message)));
    return { alg: ALG, senderKey: this.publicKey, recipientKey: peerPublicKey, nonce: b64u(nonce), ciphertext: b64u(ciphertext) };
  }

  /** Opens an `encrypted` body sent in `convId` by `senderId` (this user or the peer); throws when it does not open. */
  open(convId: string, senderId: string, body: EncryptedBody): SealedMessage {
    if (body.alg !== ALG) throw new Error(`unknown algorithm ${String(body.alg)}`);
    const peer = body.senderKey === this.publicKey ? body.recipientKey : body.senderKey;
    if (peer === body.senderKey && body.recipientKey !== this.publicKey) throw new Error('sealed for another key');
    const aad = utf8.encode(`${convId}\n${senderId}`);
    const plain = xchacha20poly1305(this.messageKey(convId, peer), unb64u(body.nonce), aad).decrypt(unb64u(body.ciphertext));
    return JSON.parse(new TextDecoder().decode(plain)) as SealedMessage;
  }
}
