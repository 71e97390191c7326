import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import type { EncryptedBody, ImMessage } from '@infra/core/topics';
import { BodyCipher } from '../../broker/src/im/cipher.js';
import { startTestStack, testDataKeys, type TestStack, until } from '../../broker/test/stack.js';
import { connectChat } from '../test/chats.js';
import { E2eeKeys, InfraChat } from './index.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack();
});
afterAll(async () => stack.close());

const chat = (userId: string, extra: Parameters<typeof connectChat>[2] = {}): Promise<InfraChat> => connectChat(stack, userId, extra);
const SECRET = 'meet me at the north gate at 9';

describe('end-to-end encryption (SDK)', () => {
  it('the peer reads it, the sender reads it back, and the server holds only ciphertext it cannot open', async () => {
    const ann = await chat('e2-ann');
    const ben = await chat('e2-ben');
    const annKeys = E2eeKeys.generate();
    const benKeys = E2eeKeys.generate();
    await ann.enableE2ee(annKeys);
    await ben.enableE2ee(benKeys);
    const conv = await ann.createConversation({ kind: 'direct', members: ['e2-ben'] });
    const got: ImMessage[] = [];
    ben.on('message', (m) => got.push(m));
    const ack = await ann.sendEncrypted(conv.id, 'e2-ben', { type: 'text', body: { text: SECRET } });
    await until(() => got.length === 1);
    expect(got[0]).toMatchObject({ seq: ack.seq, type: 'text', body: { text: SECRET }, e2ee: 'decrypted' });
    // the sender's own history opens too (the same ECDH key on both sides)
    const mine = await ann.history(conv.id);
    expect(mine.messages.map((m) => [m.type, m.body['text'], m.e2ee])).toEqual([['text', SECRET, 'decrypted']]);

    // what the server has: open the at-rest layer with the server's own data key -> still only the E2EE envelope
    const db = new Database(join(stack.dataDir, 'im.db'), { readonly: true });
    const row = db.prepare('select conv_id, sender_id, client_msg_id, type, body, key_id from im_messages where conv_id = ?').get(conv.id) as { conv_id: string; sender_id: string; client_msg_id: string; type: string; body: string; key_id: string };
    const keyRows = db.prepare('select * from im_public_keys').all() as Record<string, unknown>[];
    db.close();
    expect(row.type).toBe('encrypted');
    const serverView = new BodyCipher(testDataKeys).open(row.body, row.key_id, `${row.conv_id}\n${row.sender_id}\n${row.client_msg_id}`);
    expect(serverView).not.toContain('north gate');
    const envelope = JSON.parse(serverView) as EncryptedBody;
    expect(Object.keys(envelope).sort()).toEqual(['alg', 'ciphertext', 'nonce', 'recipientKey', 'senderKey']);
    // the server knows only public keys: it has nothing to derive the message key with
    expect(JSON.stringify(keyRows)).not.toContain(annKeys.exportSecretKey());
    expect(JSON.stringify(keyRows)).not.toContain(benKeys.exportSecretKey());
    // a third party with its own key (or the server, were it to try) cannot open it
    expect(() => E2eeKeys.generate().open(conv.id, 'e2-ann', envelope)).toThrow();
    // and the ciphertext is bound to its conversation and sender
    expect(() => benKeys.open(conv.id, 'e2-mallory', envelope)).toThrow();

    // a client without E2EE sees the envelope, marked as nothing it could read
    const benPlain = await chat('e2-ben');
    const plainHistory = await benPlain.history(conv.id);
    expect(plainHistory.messages[0]).toMatchObject({ type: 'encrypted' });
    expect(plainHistory.messages[0]?.e2ee).toBeUndefined();
    await Promise.all([ann.close(), ben.close(), benPlain.close()]);
  });

  it('is refused outside direct conversations, and public keys are visible only to people who share a conversation', async () => {
    const cy = await chat('e2-cy');
    const keys = E2eeKeys.generate();
    await cy.enableE2ee(keys);
    const group = await cy.createConversation({ kind: 'group', members: ['e2-dee'] });
    const sealed = keys.seal(group.id, 'e2-cy', keys.publicKey, { type: 'text', body: { text: 'x' } });
    await expect(cy.send(group.id, 'encrypted', sealed as unknown as Record<string, unknown>)).rejects.toMatchObject({ code: 'INFRA_ERR_IM_BAD_MESSAGE' });
    // a co-member reads the key, a stranger gets the same 404 as for a user without one
    expect((await stack.http<{ publicKey: string }>('GET', '/im/keys/e2-cy', 'e2-dee')).body.publicKey).toBe(keys.publicKey);
    expect((await stack.http('GET', '/im/keys/e2-cy', 'e2-stranger')).status).toBe(404);
    expect((await stack.http('GET', '/im/keys/e2-nobody', 'e2-cy')).status).toBe(404);
    expect((await stack.http('PUT', '/im/keys', 'e2-cy', { publicKey: 'short' })).status).toBe(400);
    await cy.close();
  });

  it('a restored secret key reads what the old instance of the key read', () => {
    const a = E2eeKeys.generate();
    const b = E2eeKeys.generate();
    const sealed = a.seal('conv_1', 'u-a', b.publicKey, { type: 'location', body: { lat: 1, lng: 2 } });
    const restored = E2eeKeys.fromSecretKey(b.exportSecretKey());
    expect(restored.publicKey).toBe(b.publicKey);
    expect(restored.open('conv_1', 'u-a', sealed)).toEqual({ type: 'location', body: { lat: 1, lng: 2 } });
  });
});
