import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { feedFlv, type FeedableBroadcast } from './feed.js';

/** A pipe stand-in that records each write call the stream machinery makes (write = 1 chunk, writev = n). */
function recordingPipe(): { pipe: Writable; calls: Buffer[][] } {
  const calls: Buffer[][] = [];
  const pipe = new Writable({
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => c.chunk as Buffer));
      cb();
    },
  });
  return { pipe, calls };
}

/** What node-media-server's broadcast does on play: the FLV header and codec headers, then adds the subscriber. */
function broadcast(): FeedableBroadcast & { send(b: Buffer): void } {
  const subscribers = new Map<string, { sendBuffer(b: Buffer): void }>();
  return {
    subscribers,
    postPlay(session: { id: string; sendBuffer(b: Buffer): void }) {
      session.sendBuffer(Buffer.from('FLV-header'));
      session.sendBuffer(Buffer.from('avc-header'));
      subscribers.set(session.id, session);
      return null;
    },
    send(b: Buffer) {
      for (const s of subscribers.values()) s.sendBuffer(b);
    },
  };
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('FLV feed into the ladder ffmpeg', () => {
  it('passes the tags of one turn of the event loop in one write, in order, and each later turn in its own', async () => {
    const { pipe, calls } = recordingPipe();
    const b = broadcast();
    const feed = feedFlv(b, '/live/x', pipe, () => undefined);
    b.send(Buffer.from('tag1'));
    b.send(Buffer.from('tag2'));
    await tick();
    expect(calls.map((c) => Buffer.concat(c).toString())).toEqual(['FLV-headeravc-headertag1tag2']);
    expect(calls[0]).toHaveLength(4); // one writev of the four tags, not four writes
    b.send(Buffer.from('tag3'));
    await tick();
    b.send(Buffer.from('tag4'));
    await tick();
    expect(calls.map((c) => Buffer.concat(c).toString())).toEqual(['FLV-headeravc-headertag1tag2', 'tag3', 'tag4']);
    feed.close();
    expect(b.subscribers.size).toBe(0);
    expect(pipe.writableEnded).toBe(true);
  });

  it('close() in the same turn as a write still delivers it before the end of input', async () => {
    const { pipe, calls } = recordingPipe();
    const b = broadcast();
    const feed = feedFlv(b, '/live/x', pipe, () => undefined);
    await tick();
    b.send(Buffer.from('last'));
    feed.close();
    await new Promise((r) => pipe.once('finish', r));
    expect(calls.map((c) => Buffer.concat(c).toString()).join('')).toBe('FLV-headeravc-headerlast');
  });
});
