import type { Writable } from 'node:stream';
import { newId } from '@infra/core';

/** The parts of a node-media-server broadcast a feed subscribes to. */
export interface FeedableBroadcast {
  subscribers: Map<string, unknown>;
  /** sends the FLV header, metadata, codec headers and the GOP cache, then adds the session to `subscribers` */
  postPlay(session: object): string | null;
}

/** Above this many bytes waiting for ffmpeg, ffmpeg is stuck: the feed gives up (and the caller restarts it). */
const MAX_BACKLOG = 64 * 1024 * 1024;

/**
 * Feeds a live stream into ffmpeg's stdin as FLV, the way node-media-server feeds an HTTP-FLV player: from the
 * codec headers and the last keyframe, then every tag as it arrives. ffmpeg neither connects nor handshakes, and
 * reads the same bytes the ingest already has. An internal session (empty `ip`): no prePlay, not a viewer, no token.
 * Ends (EOF for ffmpeg) with `close()`, which node-media-server's subscribers all have.
 */
export function feedFlv(broadcast: FeedableBroadcast, streamPath: string, stdin: Writable, onStuck: () => void): { id: string; close: () => void } {
  let fed = 0;
  const uncork = (): void => {
    while (stdin.writableCorked > 0) stdin.uncork();
  };
  const session = {
    id: newId('feed'),
    ip: '',
    protocol: 'flv',
    streamPath,
    streamQuery: {},
    get outBytes(): number {
      return fed;
    },
    sendBuffer(buffer: Buffer): void {
      if (!stdin.writable) return;
      if (stdin.writableLength > MAX_BACKLOG) {
        session.close();
        onStuck();
        return;
      }
      fed += buffer.length;
      // the tags of one socket read (node-media-server parses a read's packets in one go) reach the pipe in one writev
      if (stdin.writableCorked === 0) {
        stdin.cork();
        process.nextTick(uncork);
      }
      stdin.write(buffer);
    },
    close(): void {
      broadcast.subscribers.delete(session.id);
      if (stdin.writable) stdin.end();
    },
  };
  stdin.once('close', () => broadcast.subscribers.delete(session.id));
  broadcast.postPlay(session);
  return session;
}
