/**
 * A first-in-first-out queue with O(1) push and shift: a ring buffer that doubles when full. It has exactly the
 * members mqemitter uses on its two waiting-message arrays (push, shift, length).
 */
export class RingQueue<T> {
  private buf: (T | undefined)[] = new Array<T | undefined>(1024);
  private head = 0;
  private n = 0;

  get length(): number {
    return this.n;
  }

  push(x: T): number {
    if (this.n === this.buf.length) {
      const bigger = new Array<T | undefined>(this.buf.length * 2);
      for (let i = 0; i < this.n; i++) bigger[i] = this.buf[(this.head + i) % this.buf.length];
      this.buf = bigger;
      this.head = 0;
    }
    this.buf[(this.head + this.n++) % this.buf.length] = x;
    return this.n;
  }

  shift(): T | undefined {
    if (this.n === 0) return undefined;
    const x = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.buf.length;
    this.n--;
    return x;
  }
}

interface QueueingEmitter {
  _messageQueue?: unknown;
  _messageCallbacks?: unknown;
}

/**
 * mqemitter 7 (aedes' message bus) parks messages beyond its `concurrency` in two arrays and takes each one back with
 * Array.shift, which copies the whole array once thousands wait: under a telemetry burst that was 14 % of the broker
 * process's CPU (bench:telemetry, CPU profile). This swaps both arrays for ring queues. It touches mqemitter's private
 * fields, so it only acts when they are the empty arrays it expects (true when nothing was published yet) and says
 * whether it did.
 */
export function useRingQueues(mq: unknown): boolean {
  const m = mq as QueueingEmitter;
  if (!Array.isArray(m._messageQueue) || !Array.isArray(m._messageCallbacks) || m._messageQueue.length || m._messageCallbacks.length) return false;
  m._messageQueue = new RingQueue();
  m._messageCallbacks = new RingQueue();
  return true;
}
