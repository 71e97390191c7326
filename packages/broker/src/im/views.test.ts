import { describe, expect, it } from 'vitest';
import { ackEventJson, messageEventJson, messageJson, messageView } from './views.js';
import type { MessageRow } from './store.js';

const row = (over: Partial<MessageRow>): MessageRow => ({
  id: 42, conv_id: 'conv_Ab9.x:y@z-1', seq: 7, sender_id: 'u1', client_msg_id: 'c_1.2:3@4-5', type: 'text',
  body: '{"text":"hi"}', created_at: Date.UTC(2026, 0, 2, 3, 4, 5, 678), edited_at: null, recalled_at: null, key_id: null, ...over,
});

describe('the send path’s hand-built event JSON', () => {
  it('is byte for byte what JSON.stringify makes of the message event and the ack, escapes included', () => {
    const bodies = [
      { text: 'hi' },
      { text: 'quote " backslash \\ newline \n tab \t ctl \u0001 emoji 😀 ü', mentions: ['a', 'b'] },
      { lat: -12.5, lng: 100.25, name: '</script>' },
      { url: 'https://x/y?a=1&b=2', width: 10, height: 20 },
    ];
    const senders = ['u1', 'we"ird\\send\ner', 'ünï'];
    for (const body of bodies) {
      for (const sender_id of senders) {
        for (const type of ['text', 'location', 'image', 'encrypted']) {
          const r = row({ sender_id, type, body: JSON.stringify(body) });
          const json = messageEventJson(messageJson(r, r.body));
          expect(json).toBe(JSON.stringify({ kind: 'message', message: messageView(r) }));
          expect(JSON.parse(json)).toEqual({ kind: 'message', message: messageView(r, body) });
          const ack = ackEventJson(r, false, messageJson(r, r.body));
          expect(ack).toBe(JSON.stringify({ kind: 'ack', convId: r.conv_id, clientMsgId: r.client_msg_id, seq: r.seq, cursor: String(r.id), duplicate: false, message: messageView(r) }));
        }
      }
    }
    for (const duplicate of [false, true]) {
      const r = row({});
      expect(ackEventJson(r, duplicate)).toBe(JSON.stringify({ kind: 'ack', convId: r.conv_id, clientMsgId: r.client_msg_id, seq: r.seq, cursor: String(r.id), duplicate }));
    }
  });
});
