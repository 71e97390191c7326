import { randomBytes, randomFillSync } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

/**
 * A sortable, URL-safe id: 10 chars of millisecond time + 16 random chars, with a type prefix
 * (`ord_01j…`). Sorting ids sorts by creation time, which keeps cursor pagination simple.
 */
export function newId(prefix: string, now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let rand = '';
  for (let i = 0; i < 16; i++) rand += ALPHABET[randomByte() & 31];
  return `${prefix}_${time}${rand}`;
}

// Random bytes for ids come from a pool refilled 4 KiB at a time: one randomBytes(16) per id (a Buffer and a call
// into the CSPRNG) was ~3 % of the CPU of creating an order.
const pool = Buffer.alloc(4096);
let used = pool.length;
function randomByte(): number {
  if (used === pool.length) {
    randomFillSync(pool);
    used = 0;
  }
  return pool[used++]!;
}

/** A random secret of `bytes` bytes, base64url. */
export function newSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}
