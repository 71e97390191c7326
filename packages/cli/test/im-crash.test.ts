import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { TokenIssuer, parseEnvFile, topics, type ImEvent, type ImMessage } from '@infra/core';
import { initStack, tempDir, upStack, type RunningStack } from './harness.js';

const tmp = tempDir('infra-im-crash-');
let dir: string;
let issuer: TokenIssuer;
beforeAll(() => {
  dir = initStack(tmp.dir, 'delivery');
  issuer = new TokenIssuer(parseEnvFile(readFileSync(join(dir, '.env'), 'utf8'))['INFRA_JWT_SECRET'] ?? '');
});
afterAll(() => tmp.cleanup());

async function http<T>(stack: RunningStack, user: string, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${stack.port('server', 'api')}/api/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${await issuer.sign(user, 'user', 600)}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return (await res.json()) as T;
}

describe('IM across a crash', () => {
  it('kill -9 while messages are being stored and delivered: every acknowledged message reaches the offline recipient through sync, once, in order', async () => {
    let stack = await upStack(dir);
    const conv = await http<{ id: string }>(stack, 'cr-ann', 'POST', '/im/conversations', { kind: 'direct', members: ['cr-ben'] });
    const ann = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port('broker', 'mqtt')}`, { protocolVersion: 4, username: 'cr-ann', password: await issuer.sign('cr-ann', 'user', 600), reconnectPeriod: 0 }, false);
    const acked = new Set<string>();
    ann.on('message', (_t, p) => {
      const e = JSON.parse(p.toString()) as ImEvent;
      if (e.kind === 'ack') acked.add(e.clientMsgId);
    });
    ann.on('error', () => undefined);
    await ann.subscribeAsync(topics.imUser('cr-ann'), { qos: 1 });
    // a steady stream of sends, under the per-user rate (im.sendRate 20/s); the process dies in the middle of it
    let sent = 0;
    const sender = (async () => {
      for (let i = 0; i < 1000 && ann.connected; i++) {
        ann.publish(topics.imSend, JSON.stringify({ convId: conv.id, clientMsgId: `m${String(i).padStart(4, '0')}`, type: 'text', body: { text: `message ${i}` } }), { qos: 1 });
        sent++;
        await new Promise((r) => setTimeout(r, 40));
      }
    })();
    for (let waited = 0; acked.size < 60 && waited < 15_000; waited += 5) await new Promise((r) => setTimeout(r, 5));
    stack.child.kill('SIGKILL');
    await new Promise((r) => (stack.child.exitCode !== null || stack.child.signalCode !== null ? r(null) : stack.child.once('exit', r)));
    await sender;
    ann.end(true);
    expect(acked.size).toBeGreaterThanOrEqual(60);
    expect(sent).toBeGreaterThanOrEqual(acked.size);

    stack = await upStack(dir);
    try {
      // ben was never online: everything he gets, he gets by sync
      const messages: ImMessage[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await http<{ messages: ImMessage[]; cursor: string; more: boolean }>(stack, 'cr-ben', 'GET', `/im/sync${cursor ? `?since=${cursor}` : ''}`);
        messages.push(...page.messages);
        cursor = page.cursor;
        if (!page.more) break;
      }
      const ids = messages.map((m) => m.clientMsgId);
      for (const id of acked) expect(ids).toContain(id);
      expect(new Set(ids).size).toBe(ids.length); // nothing twice
      expect(messages.map((m) => m.seq)).toEqual(messages.map((_, i) => i + 1)); // gap-free seq
      expect([...ids].sort()).toEqual(ids); // in the order sent
    } finally {
      await stack.stop();
    }
  });
});
