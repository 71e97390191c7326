import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { RingQueue, useRingQueues } from './mq-queue.js';

// aedes' own mqemitter (the one the broker runs), resolved from aedes
const require = createRequire(createRequire(import.meta.url).resolve('aedes'));
const MQEmitter = require('mqemitter') as (opts?: { concurrency?: number }) => {
  on(topic: string, fn: (m: { topic: string; n: number }, cb: () => void) => void, done?: () => void): void;
  emit(m: { topic: string; n: number }, cb?: () => void): void;
  length: number;
};

describe('RingQueue', () => {
  it('is first in, first out across growth and wrap-around', () => {
    const q = new RingQueue<number>();
    const ref: number[] = [];
    let next = 0;
    // interleave pushes and shifts so the ring wraps and doubles several times
    for (let round = 0; round < 50; round++) {
      for (let i = 0; i < 300 + round * 10; i++) {
        q.push(next);
        ref.push(next++);
      }
      for (let i = 0; i < 250; i++) expect(q.shift()).toBe(ref.shift());
      expect(q.length).toBe(ref.length);
    }
    while (ref.length) expect(q.shift()).toBe(ref.shift());
    expect(q.shift()).toBeUndefined();
    expect(q.length).toBe(0);
  });
});

describe('useRingQueues on aedes\' mqemitter', () => {
  it('keeps every message, in order, beyond the concurrency limit', async () => {
    const mq = MQEmitter({ concurrency: 5 });
    expect(useRingQueues(mq)).toBe(true);
    const got: number[] = [];
    await new Promise<void>((r) => mq.on('fleet/+/loc', (m, cb) => {
      got.push(m.n);
      setImmediate(cb); // slow subscriber: messages pile up in the queue
    }, r));
    for (let n = 0; n < 5000; n++) mq.emit({ topic: `fleet/r${n % 7}/loc`, n });
    expect(mq.length).toBeGreaterThan(4000);
    await new Promise<void>((r) => {
      const t = setInterval(() => got.length === 5000 && (clearInterval(t), r()), 10);
    });
    expect(got).toEqual(Array.from({ length: 5000 }, (_, i) => i));
    expect(mq.length).toBe(0);
  });

  it('leaves an emitter alone when its queues are not the expected empty arrays', () => {
    expect(useRingQueues({})).toBe(false);
    expect(useRingQueues({ _messageQueue: [1], _messageCallbacks: [() => undefined] })).toBe(false);
  });
});
