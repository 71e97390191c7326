import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { parseDataKeys } from '@infra/core';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What a stored body is bound to: moving a ciphertext to another row makes it fail to decrypt. */
export type BodyContext = string;

/**
 * AES-256-GCM for message bodies at rest. Keys come from INFRA_DATA_KEYS (`kid:secret,kid:secret`): the first one
 * encrypts, every one listed decrypts, so a rotation prepends a new key and keeps the old ones until `rekey` is done.
 * A stored body is base64(iv | tag | ciphertext) with the key id in its own column.
 */
export class BodyCipher {
  private readonly keys: Map<string, Buffer>;
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
    const iv = randomBytes(IV_BYTES);
    const c = createCipheriv('aes-256-gcm', this.keys.get(this.currentKeyId)!, iv);
    c.setAAD(Buffer.from(context));
    const ct = Buffer.concat([c.update(plain, 'utf8'), c.final()]);
    return { body: Buffer.concat([iv, c.getAuthTag(), ct]).toString('base64'), keyId: this.currentKeyId };
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
