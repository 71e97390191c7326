import { createRequire } from 'node:module';
import type { Server as NetServer, Socket } from 'node:net';
import type { Server as HttpServer } from 'node:http';
import type { EventEmitter } from 'node:events';
import type { Logger } from '@infra/core';

/**
 * The parts of node-media-server 4 we drive. It ships no types and keeps its state in a
 * process-wide Context, so one media service runs per process. We do not call its run():
 * we listen on its servers ourselves, which gives us the real port for port 0, our own
 * EADDRINUSE error (its handler calls process.exit), and none of its JSON store, relay or webadmin.
 */
export interface NmsSession {
  id: string;
  ip: string;
  streamApp: string;
  streamName: string;
  streamPath: string;
  streamQuery: Record<string, unknown>;
  /** from the pusher's onMetaData; 0 when it sent none */
  videoFramerate?: number;
  socket?: Socket;
  /** ends this session's connection (RTMP socket, or the FLV HTTP response) */
  close?: () => void;
}

interface NmsInstance {
  rtmpServer: { tcpServer: NetServer };
  httpServer: { httpServer: HttpServer; wsServer?: EventEmitter };
  on(event: string, listener: (session: NmsSession) => void): void;
  stop(): Promise<void>;
}

interface NmsContext {
  broadcasts: Map<string, { publisher: NmsSession | null; subscribers: Map<string, NmsSession>; flvVideoHeader: Buffer | null; flvAudioHeader: Buffer | null; postPlay(session: object): string | null }>;
  eventEmitter: EventEmitter;
}

const require = createRequire(import.meta.url);

export function loadNms(log: Logger): { NodeMediaServer: new (config: object) => NmsInstance; context: NmsContext } {
  const nmsLogger = require('node-media-server/src/core/logger.js') as { log: (message: string, level?: string) => void };
  // Its logger prints to stdout; route it into ours so `infra up` stays quiet and `infra logs` has it.
  nmsLogger.log = (message: string, level = 'info') => {
    const lvl = level === 'error' ? 'warn' : level === 'info' ? 'debug' : level === 'warn' ? 'warn' : 'trace';
    log[lvl]({ nms: true }, message);
  };
  const NodeMediaServer = require('node-media-server') as new (config: object) => NmsInstance;
  const context = require('node-media-server/src/core/context.js') as NmsContext;
  return { NodeMediaServer, context };
}
