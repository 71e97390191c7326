import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { ImMessage } from '@infra/core/topics';
import type { Conversation } from './schema.js';
import { inbox, startTestStack, testDataKeys } from '../../test/stack.js';
import { BodyCipher } from './cipher.js';

const dataDir = mkdtempSync(join(tmpdir(), 'infra-at-rest-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

const SECRET_TEXT = 'the vault code is 7741';
type Row = { body: string; key_id: string | null; client_msg_id: string };
const rows = (): Row[] => {
  const db = new Database(join(dataDir, 'im.db'), { readonly: true });
  try {
    return db.prepare('select body, key_id, client_msg_id from im_messages order by id').all() as Row[];
  } finally {
    db.close();
  }
};
const history = async (stack: Awaited<ReturnType<typeof startTestStack>>, convId: string): Promise<string[]> =>
  ((await stack.http<{ messages: ImMessage[] }>('GET', `/im/conversations/${convId}/messages`, 'ann')).body.messages ?? []).map((m) => String(m.body['text'])).reverse();

describe('message bodies at rest', () => {
  let convId = '';

  it('are sealed with AES-256-GCM under the current key id: neither the table nor the database file holds the text', async () => {
    const stack = await startTestStack({ dataDir });
    try {
      convId = (await stack.http<Conversation>('POST', '/im/conversations', 'ann', { kind: 'direct', members: ['ben'] })).body.id;
      const ann = await stack.mqtt('ann');
      const box = inbox(ann);
      await ann.subscribeAsync('im/u/ann', { qos: 1 });
      await ann.publishAsync('im/send', JSON.stringify({ convId, clientMsgId: 'm1', type: 'text', body: { text: SECRET_TEXT } }), { qos: 1 });
      await box.next((e) => e.data['kind'] === 'ack');
      // an edit is sealed too
      await ann.publishAsync('im/send', JSON.stringify({ convId, clientMsgId: 'm2', type: 'edit', body: { seq: 1, text: `${SECRET_TEXT} (edited)` } }), { qos: 1 });
      await box.next((e) => e.data['kind'] === 'ack' && (e.data['clientMsgId'] === 'm2' || (e.data['message'] as ImMessage | undefined)?.clientMsgId === 'm2'));
      await ann.endAsync(true);
      expect(await history(stack, convId)).toContain(`${SECRET_TEXT} (edited)`);
    } finally {
      await stack.close(false);
    }
    const stored = rows();
    expect(stored.length).toBeGreaterThanOrEqual(2);
    for (const r of stored) {
      expect(r.key_id).toBe('k1');
      expect(r.body).not.toContain('vault');
    }
    for (const f of ['im.db', 'im.db-wal']) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(dataDir, f));
      } catch {
        continue;
      }
      expect(bytes.includes(Buffer.from('vault code'))).toBe(false);
    }
    // and the sealed body really is the text under k1, bound to its row
    const k1 = new BodyCipher(testDataKeys);
    const first = stored.find((r) => r.client_msg_id === 'm1')!;
    expect(JSON.parse(k1.open(first.body, 'k1', `${convId}\nann\nm1`))).toEqual({ text: `${SECRET_TEXT} (edited)` });
    expect(() => k1.open(first.body, 'k1', `${convId}\nann\nm9`)).toThrow();
  });

  it('rotate: with a new key first, old messages still read and are re-sealed with it, after which the old key can go', async () => {
    const rotated = `k2:${'e'.repeat(43)},${testDataKeys}`;
    const stack = await startTestStack({ dataDir, dataKeys: rotated });
    try {
      expect(await history(stack, convId)).toContain(`${SECRET_TEXT} (edited)`);
      const deadline = Date.now() + 5000;
      while (rows().some((r) => r.key_id !== 'k2') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(rows().map((r) => r.key_id)).toEqual(rows().map(() => 'k2'));
    } finally {
      await stack.close(false);
    }
    const onlyNew = await startTestStack({ dataDir, dataKeys: `k2:${'e'.repeat(43)}` });
    try {
      expect(await history(onlyNew, convId)).toContain(`${SECRET_TEXT} (edited)`);
    } finally {
      await onlyNew.close(false);
    }
  });

  it('never reuses a GCM nonce: nonces come from a CSPRNG pool, each handed out once, across refills', () => {
    const cipher = new BodyCipher(testDataKeys);
    const seen = new Set<string>();
    for (let i = 0; i < 3000; i++) {
      const { body, keyId } = cipher.seal('same text', 'same context');
      seen.add(Buffer.from(body, 'base64').subarray(0, 12).toString('hex'));
      if (i % 500 === 0) expect(cipher.open(body, keyId, 'same context')).toBe('same text');
    }
    expect(seen.size).toBe(3000); // past two refills of the 1,024-nonce pool
  });
});
