import { createCipheriv, createDecipheriv, createHash, randomFillSync } from 'node:crypto';
import { parseDataKeys } from '@infra/core';

const IV_BYTES = 12;
const TAG_BYTES = 16;
const IVS_PER_REFILL = 1024;

/**
 * Random 96-bit GCM nonces from a buffer refilled by the CSPRNG 1,024 nonces at a time: each one still comes from
 * randomFillSync and is handed out once, but a 12-byte randomBytes() per message cost more than the encryption.
 */
class NonceSource {
  private readonly pool = Buffer.alloc(IV_BYTES * IVS_PER_REFILL);
  private offset = this.pool.length;

  /** a fresh nonce; valid until the next call (createCipheriv and the sealed output copy it) */
  next(): Buffer {
    if (this.offset >= this.pool.length) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const iv = this.pool.subarray(this.offset, this.offset + IV_BYTES);
    this.offset += IV_BYTES;
    return iv;
  }
}

/** What a stored body is bound to: moving a ciphertext to another row makes it fail to decrypt. */
export type BodyContext = string;

/**
 * AES-256-GCM for message bodies at rest. Keys come from INFRA_DATA_KEYS (`kid:secret,kid:secret`): the first one
 * encrypts, every one listed decrypts, so a rotation prepends a new key and keeps the old ones until `rekey` is done.
 * A stored body is base64(iv | tag | ciphertext) with the key id in its own column.
 */
export class BodyCipher {
  private readonly keys: Map<string, Buffer>;
  private readonly nonces = new NonceSource();
  /** the context's bytes for setAAD, written here instead of a Buffer per message (copied by setAAD) */
  private aad = Buffer.alloc(512);
  readonly currentKeyId: string;

  constructor(dataKeys: string) {
    const parsed = parseDataKeys(dataKeys);
    // the secret is any long random string: SHA-256 of it is the 32-byte AES key
    this.keys = new Map(parsed.map((k) => [k.id, createHash('sha256').update(k.secret).digest()]));
    this.currentKeyId = parsed[0]!.id;
  }

  get keyIds(): string[] {
    return [...this.keys.keys()];
  }

  seal(plain: string, context: BodyContext): { body: string; keyId: string } {
    const iv = this.nonces.next();
    const c = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    c.setAAD(this.aadOf(context));
    // iv | tag | ciphertext in one buffer (the tag exists only after final(), which for GCM adds no bytes)
    const ct = c.update(plain, 'utf8');
    const tail = c.final();
    const out = Buffer.allocUnsafe(IV_BYTES + TAG_BYTES + ct.length + tail.length);
    iv.copy(out, 0);
    c.getAuthTag().copy(out, IV_BYTES);
    ct.copy(out, IV_BYTES + TAG_BYTES);
    tail.copy(out, IV_BYTES + TAG_BYTES + ct.length);
    return { body: out.toString('base64'), keyId: this.currentKeyId };
  }

  private aadOf(context: BodyContext): Buffer {
    const need = Buffer.byteLength(context);
    if (need > this.aad.length) this.aad = Buffer.alloc(need * 2);
    return this.aad.subarray(0, this.aad.write(context));
  }

  open(stored: string, keyId: string, context: BodyContext): string {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`message body sealed with key "${keyId}", which INFRA_DATA_KEYS no longer lists`);
    const raw = Buffer.from(stored, 'base64');
    const d = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    d.setAAD(Buffer.from(context));
    d.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    return Buffer.concat([d.update(raw.subarray(IV_BYTES + TAG_BYTES)), d.final()]).toString('utf8');
  }
}
