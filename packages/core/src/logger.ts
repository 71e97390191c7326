import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger as PinoLogger, type DestinationStream } from 'pino';

export type Logger = PinoLogger;

const SERVICE_KEY = '"service":"';

/** Keeps the last lines each service logged, so a failed start can show them. */
export class RecentLines extends Writable {
  private readonly byService = new Map<string, string[]>();

  constructor(private readonly keep = 20) {
    super();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line === '') continue;
      // every log line passes here (request logs included): find the service binding without parsing the line
      const at = line.indexOf(SERVICE_KEY);
      const end = at < 0 ? -1 : line.indexOf('"', at + SERVICE_KEY.length);
      const service = end < 0 ? 'infra' : line.slice(at + SERVICE_KEY.length, end);
      const lines = this.byService.get(service) ?? [];
      lines.push(line);
      if (lines.length > this.keep) lines.shift();
      this.byService.set(service, lines);
    }
    done();
  }

  lines(service: string): string[] {
    return [...(this.byService.get(service) ?? [])];
  }
}

export interface LoggerOptions {
  level?: string;
  /** append JSON lines here (created with its directory) */
  file?: string;
  /** also write to this stream (tests, foreground) */
  extra?: DestinationStream | NodeJS.WritableStream;
  recent?: RecentLines;
}

/** One structured logger per process; services take `logger.child({ service })`. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const streams: { stream: DestinationStream | NodeJS.WritableStream }[] = [];
  if (opts.file) {
    mkdirSync(dirname(opts.file), { recursive: true });
    streams.push({ stream: pino.destination({ dest: opts.file, sync: true, mkdir: true }) });
  }
  if (opts.extra) streams.push({ stream: opts.extra });
  if (opts.recent) streams.push({ stream: opts.recent });
  const level = opts.level ?? 'info';
  if (streams.length === 0) return pino({ level, enabled: false });
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime }, pino.multistream(streams.map((s) => ({ ...s, level: level as pino.Level }))));
}
