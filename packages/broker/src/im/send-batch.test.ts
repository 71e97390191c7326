import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type mqtt from 'mqtt';
import type { ImMessage } from '@infra/core/topics';
import type { Conversation } from './schema.js';
import { imDevice, liveMessages, sleep, startTestStack, type Inbox, type TestStack } from '../../test/stack.js';

let stack: TestStack;
beforeAll(async () => {
  // the bursts below are far over the default per-user rate limit
  stack = await startTestStack({ yaml: 'im:\n  sendRate: 10000\n  sendBurst: 10000\n' });
});
afterAll(async () => stack.close());

const device = (user: string) => imDevice(stack, user);
const text = (convId: string, clientMsgId: string) => JSON.stringify({ convId, clientMsgId, type: 'text', body: { text: clientMsgId } });
const outcome = (box: Inbox, clientMsgId: string) => box.next((e) => (e.data['kind'] === 'ack' || e.data['kind'] === 'error') && e.data['clientMsgId'] === clientMsgId);

describe('im/send group commit', () => {
  it('keeps seqs gap-free when one burst mixes new sends, resends and refused sends', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'gil', { kind: 'group', members: ['hal'] })).body;
    const gil = await device('gil');
    const hal = await device('hal');
    const out = await device('outsider');
    // published back to back without waiting, so they share the broker's send batches
    const burst = async (round: number): Promise<void> => {
      const sends: Promise<unknown>[] = [];
      for (let i = 0; i < 30; i++) {
        sends.push(gil.c.publishAsync('im/send', text(conv.id, `g${round}-${i}`), { qos: 1 }));
        if (i % 3 === 0) sends.push(gil.c.publishAsync('im/send', text(conv.id, `g${round}-${i}`), { qos: 1 })); // resend inside the burst
        if (i % 5 === 0) sends.push(gil.c.publishAsync('im/send', text(conv.id, `g0-${i}`), { qos: 1 })); // resend of an earlier burst (or of this one)
        if (i % 7 === 0) sends.push(out.c.publishAsync('im/send', text(conv.id, `o${round}-${i}`), { qos: 1 })); // not a member: refused
        if (i % 11 === 0) sends.push(gil.c.publishAsync('im/send', text('conv_nope', `n${round}-${i}`), { qos: 1 })); // unknown conversation
        sends.push(hal.c.publishAsync('im/send', text(conv.id, `h${round}-${i}`), { qos: 1 }));
      }
      await Promise.all(sends);
    };
    await burst(0);
    await burst(1);
    expect((await outcome(out.box, 'o0-7')).data['code']).toBe('INFRA_ERR_IM_NOT_MEMBER');
    expect((await outcome(gil.box, 'n1-11')).data['code']).toBe('INFRA_ERR_IM_CONVERSATION_NOT_FOUND');
    expect((await outcome(gil.box, 'g1-3')).data).toMatchObject({ kind: 'ack', duplicate: false });

    // 2 bursts × (30 + 30) distinct messages: seqs 1..120 exactly once each, in every member's live stream
    await hal.box.next((e) => (e.data['message'] as ImMessage | undefined)?.seq === 120);
    await sleep(200);
    for (const box of [gil.box, hal.box]) expect(liveMessages(box, conv.id).map((m) => m.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1));
    const ids = liveMessages(hal.box, conv.id).map((m) => `${m.senderId}:${m.clientMsgId}`);
    expect(new Set(ids).size).toBe(120);
    // the conversation's counter gave back what refused and duplicate sends did not use: the next send gets 121
    expect((await stack.http<Conversation>('GET', `/im/conversations/${conv.id}`, 'gil')).body.lastSeq).toBe(120);
    await gil.c.publishAsync('im/send', text(conv.id, 'after'), { qos: 1 });
    expect((await outcome(gil.box, 'after')).data).toMatchObject({ kind: 'ack', seq: 121 });
    // every resend was acknowledged as a duplicate with the seq of the stored original
    const dupAcks = gil.box.seen.filter((e) => e.data['kind'] === 'ack' && e.data['duplicate'] === true);
    expect(dupAcks.length).toBeGreaterThanOrEqual(10);
    const firstSeq = new Map(gil.box.seen.filter((e) => e.data['kind'] === 'ack' && e.data['duplicate'] === false).map((e) => [e.data['clientMsgId'], e.data['seq']]));
    for (const d of dupAcks) expect(d.data['seq']).toBe(firstSeq.get(d.data['clientMsgId']));
    for (const d of [gil, hal, out]) await d.c.endAsync();
  });

  it('stores edits, recalls and plain sends of one burst in arrival order, each once, resends acknowledged with their first seq', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'lia', { kind: 'group', members: ['max'] })).body;
    const lia = await device('lia');
    const max = await device('max');
    for (const id of ['t1', 't2', 't3']) {
      await lia.c.publishAsync('im/send', text(conv.id, id), { qos: 1 });
      await outcome(lia.box, id);
    }
    const send = (clientMsgId: string, type: string, body: Record<string, unknown>) => lia.c.publishAsync('im/send', JSON.stringify({ convId: conv.id, clientMsgId, type, body }), { qos: 1 });
    // back to back: plain sends (stored synchronously in the batch) between sends with side effects (which await)
    await Promise.all([
      send('p1', 'text', { text: 'p1' }),
      send('e1', 'edit', { seq: 1, text: 'edited' }),
      send('p2', 'text', { text: 'p2' }),
      send('r1', 'recall', { seq: 2 }),
      send('e1', 'edit', { seq: 1, text: 'edited' }), // resend of the edit: not applied twice
      send('p3', 'text', { text: 'p3' }),
      send('p1', 'text', { text: 'p1' }), // resend of a plain send
      send('bad', 'edit', { seq: 99, text: 'nothing there' }), // refused
      send('p4', 'text', { text: 'p4' }),
    ]);
    const acks = new Map<string, Record<string, unknown>[]>();
    await max.box.next((e) => (e.data['message'] as ImMessage | undefined)?.clientMsgId === 'p4');
    await outcome(lia.box, 'bad');
    await sleep(100);
    for (const e of lia.box.seen) if (e.data['kind'] === 'ack' || e.data['kind'] === 'error') acks.set(e.data['clientMsgId'] as string, [...(acks.get(e.data['clientMsgId'] as string) ?? []), e.data]);
    expect(acks.get('p1')).toMatchObject([{ kind: 'ack', seq: 4, duplicate: false }, { kind: 'ack', seq: 4, duplicate: true }]);
    expect(acks.get('e1')).toMatchObject([{ kind: 'ack', seq: 5, duplicate: false }, { kind: 'ack', seq: 5, duplicate: true }]);
    expect(acks.get('p2')).toMatchObject([{ seq: 6 }]);
    expect(acks.get('r1')).toMatchObject([{ seq: 7 }]);
    expect(acks.get('p3')).toMatchObject([{ seq: 8 }]);
    expect(acks.get('bad')).toMatchObject([{ kind: 'error', code: 'INFRA_ERR_IM_BAD_MESSAGE' }]);
    expect(acks.get('p4')).toMatchObject([{ seq: 9, duplicate: false }]);
    expect(liveMessages(max.box, conv.id).map((m) => `${m.seq}:${m.clientMsgId}`)).toEqual(['1:t1', '2:t2', '3:t3', '4:p1', '5:e1', '6:p2', '7:r1', '8:p3', '9:p4']);
    const history = (await stack.http<{ messages: ImMessage[] }>('GET', `/im/conversations/${conv.id}/messages`, 'max')).body.messages;
    expect(history.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(history[0]).toMatchObject({ body: { text: 'edited' } });
    expect(history[0]?.editedAt).toBeDefined();
    expect(history[1]).toMatchObject({ body: {} });
    expect(history[1]?.recalledAt).toBeDefined();
    for (const d of [lia, max]) await d.c.endAsync();
  });

  it('applies membership changes to the very next send (the send path caches members)', async () => {
    const conv = (await stack.http<Conversation>('POST', '/im/conversations', 'ivy', { kind: 'group', members: ['jon'] })).body;
    const ivy = await device('ivy');
    const jon = await device('jon');
    const kim = await device('kim');
    const say = async (d: { c: mqtt.MqttClient; box: Inbox }, id: string) => {
      await d.c.publishAsync('im/send', text(conv.id, id), { qos: 1 });
      return (await outcome(d.box, id)).data;
    };
    expect(await say(jon, 'j1')).toMatchObject({ kind: 'ack' }); // the cache now holds this conversation

    expect((await stack.http('PUT', `/im/conversations/${conv.id}/members/jon/mute`, 'ivy', { muted: true })).status).toBe(200);
    expect(await say(jon, 'j2')).toMatchObject({ kind: 'error', code: 'INFRA_ERR_IM_NOT_ALLOWED' });
    // a resend of what was stored before the mute is still acknowledged (as a duplicate), not refused
    await jon.c.publishAsync('im/send', text(conv.id, 'j1'), { qos: 1 });
    const resent = await jon.box.next((e) => e.data['clientMsgId'] === 'j1' && (e.data['kind'] === 'error' || e.data['duplicate'] === true));
    expect(resent.data).toMatchObject({ kind: 'ack', duplicate: true, seq: 1 });
    expect((await stack.http('PUT', `/im/conversations/${conv.id}/members/jon/mute`, 'ivy', { muted: false })).status).toBe(200);
    expect(await say(jon, 'j3')).toMatchObject({ kind: 'ack' });

    // a new member gets the next message live; a kicked one can no longer send and gets nothing more
    expect((await stack.http('POST', `/im/conversations/${conv.id}/members`, 'ivy', { userIds: ['kim'] })).status).toBe(200);
    const seq = (await say(ivy, 'i1'))['seq'];
    expect((await kim.box.next((e) => (e.data['message'] as ImMessage | undefined)?.clientMsgId === 'i1')).data['message']).toMatchObject({ seq });
    expect((await stack.http('DELETE', `/im/conversations/${conv.id}/members/jon`, 'ivy')).status).toBe(200);
    expect(await say(jon, 'j4')).toMatchObject({ kind: 'error', code: 'INFRA_ERR_IM_NOT_MEMBER' });
    expect(await say(ivy, 'i2')).toMatchObject({ kind: 'ack' });
    await kim.box.next((e) => (e.data['message'] as ImMessage | undefined)?.clientMsgId === 'i2');
    await sleep(100);
    expect(liveMessages(jon.box, conv.id).map((m) => m.clientMsgId)).not.toContain('i2');

    // leaving works the same way
    expect((await stack.http('POST', `/im/conversations/${conv.id}/leave`, 'kim')).status).toBe(200);
    expect(await say(kim, 'k1')).toMatchObject({ kind: 'error', code: 'INFRA_ERR_IM_NOT_MEMBER' });
    for (const d of [ivy, jon, kim]) await d.c.endAsync();
  });
});
