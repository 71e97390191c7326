import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mqtt from 'mqtt';
import type { Conversation } from './schema.js';
import { imDevice, sleep, startTestStack, type Inbox, type TestStack } from '../../test/stack.js';

let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({ yaml: 'im:\n  maxGroupSize: 4\n  maxMessageBytes: 2048\n  recallWindow: 3s\n  sendRate: 5\n  sendBurst: 30\n' });
});
afterAll(async () => stack.close());

const device = (user: string, role: 'user' | 'service' = 'user') => imDevice(stack, user, role);
const send = (c: mqtt.MqttClient, msg: unknown): Promise<unknown> => c.publishAsync('im/send', typeof msg === 'string' ? msg : JSON.stringify(msg), { qos: 1 });
/** the SUBACK return code for one filter (mqtt.js rejects a 0x80, so read it from the error) */
async function grantedQos(c: mqtt.MqttClient, filter: string): Promise<number | undefined> {
  try {
    return (await c.subscribeAsync(filter, { qos: 1 }))[0]?.qos;
  } catch (err) {
    return (err as { packet?: { granted?: number[] } }).packet?.granted?.[0];
  }
}
const ackOf = (box: Inbox, clientMsgId: string) => box.next((e) => (e.data['kind'] === 'ack' || e.data['kind'] === 'error') && e.data['clientMsgId'] === clientMsgId);

describe('conversations over /api/v1/im', () => {
  it('keeps one direct conversation per pair', async () => {
    const a = await stack.http<Conversation>('POST', '/im/conversations', 'alice', { kind: 'direct', members: ['bob'] });
    expect(a.status).toBe(201);
    const b = await stack.http<Conversation>('POST', '/im/conversations', 'bob', { kind: 'direct', members: ['alice'] });
    expect(b.status).toBe(200);
    expect(b.body.id).toBe(a.body.id);
    const bad = await stack.http<{ type: string }>('POST', '/im/conversations', 'alice', { kind: 'direct', members: ['bob', 'carol'] });
    expect(bad.body.type).toBe('INFRA_ERR_IM_BAD_MESSAGE');
  });

  it('gives groups owner/admin/member roles and a size limit from config', async () => {
    const g = await stack.http<Conversation>('POST', '/im/conversations', 'owner1', { kind: 'group', title: 'team', members: ['m1', 'm2'] });
    expect(g.status).toBe(201);
    const id = g.body.id;
    const byMember = await stack.http<{ type: string }>('POST', `/im/conversations/${id}/members`, 'm1', { userIds: ['m3'] });
    expect([byMember.status, byMember.body.type]).toEqual([403, 'INFRA_ERR_IM_NOT_ALLOWED']);
    expect((await stack.http('PUT', `/im/conversations/${id}/members/m1/role`, 'owner1', { role: 'admin' })).status).toBe(200);
    expect((await stack.http('POST', `/im/conversations/${id}/members`, 'm1', { userIds: ['m3'] })).status).toBe(200);
    const full = await stack.http<{ type: string }>('POST', `/im/conversations/${id}/members`, 'owner1', { userIds: ['m4'] });
    expect([full.status, full.body.type]).toEqual([409, 'INFRA_ERR_IM_GROUP_FULL']);
    const outsider = await stack.http<{ type: string }>('GET', `/im/conversations/${id}/members`, 'stranger');
    expect([outsider.status, outsider.body.type]).toEqual([403, 'INFRA_ERR_IM_NOT_MEMBER']);
    const joinGroup = await stack.http<{ type: string }>('POST', `/im/conversations/${id}/join`, 'stranger');
    expect(joinGroup.body.type).toBe('INFRA_ERR_IM_NOT_ALLOWED');
    // mute: a muted member cannot send until unmuted; members cannot mute, nobody mutes the owner
    const m2 = await device('m2');
    expect((await stack.http<{ type: string }>('PUT', `/im/conversations/${id}/members/m1/mute`, 'm2', { muted: true })).body.type).toBe('INFRA_ERR_IM_NOT_ALLOWED');
    expect((await stack.http<{ type: string }>('PUT', `/im/conversations/${id}/members/owner1/mute`, 'm1', { muted: true })).body.type).toBe('INFRA_ERR_IM_NOT_ALLOWED');
    expect((await stack.http('PUT', `/im/conversations/${id}/members/m2/mute`, 'm1', { muted: true })).status).toBe(200);
    await send(m2.c, { convId: id, clientMsgId: 'mute-1', type: 'text', body: { text: 'shh' } });
    expect((await ackOf(m2.box, 'mute-1')).data['code']).toBe('INFRA_ERR_IM_NOT_ALLOWED');
    expect((await stack.http('PUT', `/im/conversations/${id}/members/m2/mute`, 'owner1', { muted: false })).status).toBe(200);
    await send(m2.c, { convId: id, clientMsgId: 'mute-2', type: 'text', body: { text: 'back' } });
    expect((await ackOf(m2.box, 'mute-2')).data['kind']).toBe('ack');
    await m2.c.endAsync();
    expect((await stack.http('DELETE', `/im/conversations/${id}/members/m3`, 'm1')).status).toBe(200);
    expect((await stack.http('POST', `/im/conversations/${id}/leave`, 'm2')).status).toBe(200);
    const members = await stack.http<{ members: { userId: string; role: string }[] }>('GET', `/im/conversations/${id}/members`, 'owner1');
    expect(members.body.members.map((m) => [m.userId, m.role]).sort()).toEqual([['m1', 'admin'], ['owner1', 'owner']]);
    const unknown = await stack.http<{ type: string }>('GET', '/im/conversations/conv_nope', 'owner1');
    expect([unknown.status, unknown.body.type]).toEqual([404, 'INFRA_ERR_IM_CONVERSATION_NOT_FOUND']);
    const unauth = await fetch(`${stack.apiUrl}/im/conversations`);
    expect(unauth.status).toBe(401);
  });
});

describe('messages over im/send', () => {
  it('assigns seq, acks by clientMsgId, delivers to every member, and stores a resend only once', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'dan', { kind: 'group', members: ['eve', 'fay'] })).body;
    const dan = await device('dan');
    const eve = await device('eve');
    const fay = await device('fay');
    await send(dan.c, { convId: conv.id, clientMsgId: 'd-1', type: 'text', body: { text: 'hi', mentions: ['eve'] } });
    const ack = await ackOf(dan.box, 'd-1');
    const stored = { convId: conv.id, seq: 1, senderId: 'dan', clientMsgId: 'd-1', type: 'text', body: { text: 'hi', mentions: ['eve'] } };
    // the sender's devices get the message once, in the ack; the other members as a message event
    expect(ack.data).toMatchObject({ kind: 'ack', convId: conv.id, seq: 1, duplicate: false, message: stored });
    for (const box of [eve.box, fay.box]) expect((await box.next((e) => e.data['kind'] === 'message')).data['message']).toMatchObject(stored);
    await send(dan.c, { convId: conv.id, clientMsgId: 'd-1', type: 'text', body: { text: 'hi', mentions: ['eve'] } });
    const dup = await dan.box.next((e) => e.data['kind'] === 'ack' && e.data['duplicate'] === true);
    expect(dup.data).toMatchObject({ seq: 1 });
    expect(dup.data['message']).toBeUndefined(); // a resend delivers nothing again
    await sleep(150);
    expect(eve.box.seen.filter((e) => e.data['kind'] === 'message')).toHaveLength(1);
    expect(dan.box.seen.filter((e) => e.data['kind'] === 'message')).toHaveLength(0);

    // concurrent senders: seq stays gap-free and each receiver sees it in order
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => send(dan.c, { convId: conv.id, clientMsgId: `d-c${i}`, type: 'text', body: { text: `d${i}` } })),
      ...Array.from({ length: 10 }, (_, i) => send(eve.c, { convId: conv.id, clientMsgId: `e-c${i}`, type: 'location', body: { lat: 1, lng: 2 } })),
    ]);
    await fay.box.next((e) => (e.data['message'] as { seq?: number } | undefined)?.seq === 21);
    const seqs = fay.box.seen.filter((e) => e.data['kind'] === 'message').map((e) => (e.data['message'] as { seq: number }).seq);
    expect(seqs).toEqual(Array.from({ length: 21 }, (_, i) => i + 1));
    const sync = await stack.http<{ messages: { seq: number }[] }>('GET', '/im/sync', 'fay');
    expect(sync.body.messages.filter((m) => m).map((m) => m.seq)).toEqual(seqs);
    for (const d of [dan, eve, fay]) await d.c.endAsync();
  });

  it('validates every content type and answers bad input with an error event on the sender’s inbox, broker up', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'gus', { kind: 'direct', members: ['hal'] })).body;
    const gus = await device('gus');
    const ok: [string, Record<string, unknown>][] = [
      ['text', { text: 'x' }], ['image', { url: 'https://x/i.png', width: 10, height: 10 }], ['file', { url: 'https://x/f', name: 'f.pdf', size: 3 }],
      ['voice', { url: 'https://x/v', durationMs: 1000 }], ['video', { url: 'https://x/m', durationMs: 5 }],
      ['location', { lat: 48.1, lng: 11.5, name: 'here' }],
    ];
    for (const [type, body] of ok) {
      await send(gus.c, { convId: conv.id, clientMsgId: `ok-${type}`, type, body });
      expect((await ackOf(gus.box, `ok-${type}`)).data['kind']).toBe('ack');
    }
    const bad: [string, unknown][] = [
      ['INFRA_ERR_IM_BAD_MESSAGE', { convId: conv.id, clientMsgId: 'b1', type: 'location', body: { lat: 200, lng: 0 } }],
      ['INFRA_ERR_IM_BAD_MESSAGE', { convId: conv.id, clientMsgId: 'b2', type: 'text', body: { text: 'x', extra: 1 } }],
      ['INFRA_ERR_IM_BAD_MESSAGE', { convId: conv.id, clientMsgId: 'b3', type: 'gif', body: {} }],
      ['INFRA_ERR_IM_BAD_MESSAGE', { convId: conv.id, clientMsgId: 'b4', type: 'image', body: { width: 3 } }],
      ['INFRA_ERR_IM_NOT_ALLOWED', { convId: conv.id, clientMsgId: 'b5', type: 'system', body: { text: 'i am root' } }],
      ['INFRA_ERR_IM_CONVERSATION_NOT_FOUND', { convId: 'conv_missing', clientMsgId: 'b6', type: 'text', body: { text: 'x' } }],
      // stickers must exist (files.test.ts sends real ones)
      ['INFRA_ERR_STICKER_NOT_FOUND', { convId: conv.id, clientMsgId: 'b8', type: 'sticker', body: { packId: 'p1', stickerId: 's1' } }],
      ['INFRA_ERR_IM_TOO_LARGE', { convId: conv.id, clientMsgId: 'b7', type: 'text', body: { text: 'y'.repeat(3000) } }],
    ];
    for (const [code, msg] of bad) await send(gus.c, msg);
    for (const [code, msg] of bad.slice(0, -1)) expect((await ackOf(gus.box, (msg as { clientMsgId: string }).clientMsgId)).data['code']).toBe(code);
    await gus.box.next((e) => e.data['code'] === 'INFRA_ERR_IM_TOO_LARGE');
    await send(gus.c, '{not json');
    await gus.box.next((e) => e.data['code'] === 'INFRA_ERR_MALFORMED_JSON');
    await send(gus.c, '[1,2]');
    await gus.box.next((e) => e.data['kind'] === 'error' && e.data['clientMsgId'] === undefined && e.data['code'] === 'INFRA_ERR_IM_BAD_MESSAGE');

    // not a member of someone else's conversation
    const other = (await stack.http<Conversation>('POST', '/im/conversations', 'ivy', { kind: 'direct', members: ['jon'] })).body;
    await send(gus.c, { convId: other.id, clientMsgId: 'probe', type: 'text', body: { text: 'let me in' } });
    expect((await ackOf(gus.box, 'probe')).data['code']).toBe('INFRA_ERR_IM_NOT_MEMBER');

    // nothing bad was stored, the connection is still up, the broker still works
    expect(gus.c.connected).toBe(true);
    const sync = await stack.http<{ messages: { clientMsgId: string }[] }>('GET', '/im/sync', 'hal');
    expect(sync.body.messages.map((m) => m.clientMsgId)).toEqual(ok.map(([t]) => `ok-${t}`));
    expect((await stack.broker.health()).ok).toBe(true);
    await gus.c.endAsync();
  });

  it('writes the answers to a device’s own sends at QoS 0 to a clean session, at QoS 1 to a persistent one, and messages at QoS 1', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'qia', { kind: 'direct', members: ['qin'] })).body;
    const qosOf = async (c: mqtt.MqttClient, user: string, kind: string) => {
      const got: Promise<number> = new Promise((resolve) => c.on('message', (_t, p, packet) => (JSON.parse(p.toString()) as { kind: string }).kind === kind && resolve(packet.qos)));
      await c.subscribeAsync(`im/u/${user}`, { qos: 1 });
      return got;
    };
    const clean = await stack.mqtt('qia');
    const persistent = await stack.mqtt('qia', { clean: false, clientId: 'qia-tablet' });
    const receiver = await stack.mqtt('qin');
    const [cleanAck, persistentAck, message] = [qosOf(clean, 'qia', 'ack'), qosOf(persistent, 'qia', 'ack'), qosOf(receiver, 'qin', 'message')];
    await sleep(100); // the three subscriptions are in place
    await send(clean, { convId: conv.id, clientMsgId: 'q-1', type: 'text', body: { text: 'which qos' } });
    expect(await cleanAck).toBe(0);
    expect(await persistentAck).toBe(1);
    expect(await message).toBe(1);
    // an error answer too
    const cleanError = new Promise<number>((resolve) => clean.on('message', (_t, p, packet) => (JSON.parse(p.toString()) as { kind: string }).kind === 'error' && resolve(packet.qos)));
    await send(clean, { convId: 'conv_nope', clientMsgId: 'q-2', type: 'text', body: { text: 'nowhere' } });
    expect(await cleanError).toBe(0);
    for (const c of [clean, persistent, receiver]) await c.endAsync();
  });

  it('turns recall (within the window) and edit into events that sync reflects', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'kim', { kind: 'direct', members: ['lee'] })).body;
    const kim = await device('kim');
    const lee = await device('lee');
    await send(kim.c, { convId: conv.id, clientMsgId: 'k1', type: 'text', body: { text: 'typo' } });
    await send(kim.c, { convId: conv.id, clientMsgId: 'k2', type: 'text', body: { text: 'oops' } });
    await ackOf(kim.box, 'k2');
    await send(kim.c, { convId: conv.id, clientMsgId: 'k3', type: 'edit', body: { seq: 1, text: 'fixed' } });
    await send(kim.c, { convId: conv.id, clientMsgId: 'k4', type: 'recall', body: { seq: 2 } });
    expect((await ackOf(kim.box, 'k4')).data).toMatchObject({ kind: 'ack', seq: 4 });
    await send(lee.c, { convId: conv.id, clientMsgId: 'l1', type: 'recall', body: { seq: 1 } });
    expect((await ackOf(lee.box, 'l1')).data['code']).toBe('INFRA_ERR_IM_NOT_ALLOWED');
    const events = await lee.box.next((e) => (e.data['message'] as { seq?: number } | undefined)?.seq === 4);
    expect(events.data['message']).toMatchObject({ type: 'recall', body: { seq: 2 } });
    const sync = await stack.http<{ messages: { seq: number; type: string; body: Record<string, unknown>; editedAt?: string; recalledAt?: string }[] }>('GET', '/im/sync', 'lee');
    const [m1, m2] = sync.body.messages;
    expect(m1).toMatchObject({ seq: 1, body: { text: 'fixed' } });
    expect(m1?.editedAt).toBeDefined();
    expect(m2).toMatchObject({ seq: 2, body: {} });
    expect(m2?.recalledAt).toBeDefined();
    await send(kim.c, { convId: conv.id, clientMsgId: 'k5', type: 'text', body: { text: 'late' } });
    const late = await ackOf(kim.box, 'k5');
    await sleep(3100);
    await send(kim.c, { convId: conv.id, clientMsgId: 'k6', type: 'recall', body: { seq: late.data['seq'] } });
    expect((await ackOf(kim.box, 'k6')).data['code']).toBe('INFRA_ERR_IM_RECALL_WINDOW');
    await kim.c.endAsync();
    await lee.c.endAsync();
  });

  it('expires temporary conversations', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'svc', { kind: 'temporary', members: ['buyer', 'rider'], ttl: '1s' }, 'service')).body;
    expect(conv.expiresAt).toBeDefined();
    const buyer = await device('buyer');
    await send(buyer.c, { convId: conv.id, clientMsgId: 't1', type: 'text', body: { text: 'where are you?' } });
    expect((await ackOf(buyer.box, 't1')).data['kind']).toBe('ack');
    await sleep(1100);
    await send(buyer.c, { convId: conv.id, clientMsgId: 't2', type: 'text', body: { text: 'hello?' } });
    expect((await ackOf(buyer.box, 't2')).data['code']).toBe('INFRA_ERR_IM_EXPIRED');
    await buyer.c.endAsync();
  });
});

describe('flood control', () => {
  it('rate-limits one user’s sends with error events and keeps serving them (and others) afterwards', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'flood', { kind: 'direct', members: ['calm'] })).body;
    const flood = await device('flood');
    await Promise.all(Array.from({ length: 50 }, (_, i) => send(flood.c, { convId: conv.id, clientMsgId: `f${i}`, type: 'text', body: { text: String(i) } })));
    const outcomes = await Promise.all(Array.from({ length: 50 }, (_, i) => ackOf(flood.box, `f${i}`)));
    const limited = outcomes.filter((e) => e.data['code'] === 'INFRA_ERR_IM_RATE_LIMITED').length;
    const stored = outcomes.filter((e) => e.data['kind'] === 'ack').length;
    // the burst (30) passes, then about 5/s refill while the rest arrive: most of the 50 are refused
    expect(stored).toBeGreaterThanOrEqual(30);
    expect(stored).toBeLessThan(45);
    expect(limited).toBe(50 - stored);
    await sleep(1000);
    await send(flood.c, { convId: conv.id, clientMsgId: 'f-after', type: 'text', body: { text: 'calmer now' } });
    expect((await ackOf(flood.box, 'f-after')).data['kind']).toBe('ack');
    const sync = await stack.http<{ messages: unknown[] }>('GET', '/im/sync', 'calm');
    expect(sync.body.messages).toHaveLength(stored + 1);
    await flood.c.endAsync();
  });
});

describe('channels and cross-user probes', () => {
  it('lets only admins post, fans out once on im/c/{convId} to members, and refuses everyone else', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'host', { kind: 'channel', title: 'news' })).body;
    expect((await stack.http('POST', `/im/conversations/${conv.id}/join`, 'fan1')).status).toBe(200);
    const host = await device('host');
    const fan = await device('fan1');
    const outsider = await device('nosy');

    expect(await grantedQos(fan.c, `im/c/${conv.id}`)).toBe(1);
    expect(await grantedQos(outsider.c, `im/c/${conv.id}`)).toBe(128);
    expect(await grantedQos(outsider.c, 'im/u/fan1')).toBe(128);
    expect(await grantedQos(outsider.c, 'im/u/+')).toBe(128);
    expect(await grantedQos(outsider.c, 'im/c/+')).toBe(128);
    expect(await grantedQos(outsider.c, 'im/send')).toBe(128);

    await send(host.c, { convId: conv.id, clientMsgId: 'h1', type: 'text', body: { text: 'breaking' } });
    expect((await ackOf(host.box, 'h1')).data['seq']).toBe(1);
    const got = await fan.box.next((e) => e.topic === `im/c/${conv.id}`);
    expect(got.data['message']).toMatchObject({ seq: 1, body: { text: 'breaking' } });
    await sleep(100);
    expect(fan.box.seen.filter((e) => e.topic === 'im/u/fan1' && e.data['kind'] === 'message')).toEqual([]);

    await send(fan.c, { convId: conv.id, clientMsgId: 'f1', type: 'text', body: { text: 'me too' } });
    expect((await ackOf(fan.box, 'f1')).data['code']).toBe('INFRA_ERR_IM_NOT_ALLOWED');

    // publishing straight to the broadcast topic is not in the ACL: the connection is dropped
    const closed = new Promise<void>((r) => fan.c.once('close', () => r()));
    fan.c.publish(`im/c/${conv.id}`, JSON.stringify({ kind: 'message', message: { text: 'spoof' } }), { qos: 1 });
    await closed;

    // after leaving, the old subscription no longer receives the broadcast
    const fan2 = await device('fan2');
    await stack.http('POST', `/im/conversations/${conv.id}/join`, 'fan2');
    await fan2.c.subscribeAsync(`im/c/${conv.id}`, { qos: 1 });
    expect((await stack.http('POST', `/im/conversations/${conv.id}/leave`, 'fan2')).status).toBe(200);
    await send(host.c, { convId: conv.id, clientMsgId: 'h2', type: 'text', body: { text: 'members only' } });
    await ackOf(host.box, 'h2');
    await sleep(200);
    expect(fan2.box.seen.filter((e) => e.topic === `im/c/${conv.id}`)).toEqual([]);
    expect(outsider.box.seen.filter((e) => e.data['kind'] === 'message')).toEqual([]);
    for (const d of [host, outsider, fan2]) await d.c.endAsync();
  });
});
