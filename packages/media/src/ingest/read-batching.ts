import type { Socket } from 'node:net';

/** The libuv stream under a net.Socket: reading stops and starts on it without net.Socket's stream state changing. */
interface ReadableHandle {
  readStart(): number;
  readStop(): number;
}

export interface ReadBatching {
  /** reads as they arrive again, for good (also done on the socket's close) */
  stop(): void;
  /** batches so far: how many times the socket was read on the timer */
  readonly ticks: number;
}

/**
 * Reads a publisher's RTMP socket every `everyMs` instead of on every TCP segment. An OBS-like 2.5 Mb/s push arrives as
 * ~120 segments a second; each wakes the event loop, runs node's stream machinery and node-media-server's parser, and
 * writes to the ladder ffmpeg's stdin (waking it too). Read every 50 ms, the same bytes come in ~20 reads, parsed and
 * passed on together (measured with scripts/bench-media.mjs: media's process ~30 % less CPU in steady state).
 *
 * Starts after `afterMs` (a publish's first keyframes reach players and the ladder as they arrive). Each tick reads
 * everything the kernel holds (libuv reads until a short read, in one poll phase), then stops reading until the next
 * tick: the data waits in the socket's receive buffer, and a pusher's close is seen within `everyMs`. Works on the
 * socket's libuv handle, which net.Socket keeps marked as reading, so the stream neither restarts reading itself nor
 * changes state. Stops on the socket's close; `everyMs` 0 = off.
 */
export function batchReads(socket: Socket, everyMs: number, afterMs = 0): ReadBatching {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticks = 0;
  const handle = (): ReadableHandle | undefined => {
    const h = (socket as unknown as { _handle?: ReadableHandle | null })._handle;
    return h && typeof h.readStart === 'function' && typeof h.readStop === 'function' ? h : undefined;
  };
  const tick = (): void => {
    const h = handle();
    if (stopped || socket.destroyed || !h) return stop();
    ticks++;
    h.readStart();
    // the poll phase after this timer reads what is there; the check phase then stops reading until the next tick
    setImmediate(() => {
      if (!stopped && !socket.destroyed) handle()?.readStop();
    });
  };
  const start = (): void => {
    const h = handle();
    if (stopped || socket.destroyed || !h || socket.isPaused()) return stop();
    h.readStop();
    timer = setInterval(tick, everyMs).unref();
  };
  const stop = (): void => {
    if (stopped) return;
    stopped = true;
    clearTimeout(timer);
    clearInterval(timer);
    if (!socket.destroyed && !socket.isPaused()) handle()?.readStart();
  };
  socket.once('close', stop);
  if (everyMs > 0) timer = setTimeout(start, afterMs).unref();
  else stopped = true;
  return {
    stop,
    get ticks() {
      return ticks;
    },
  };
}
