import { createReadStream, existsSync, statSync, watch } from 'node:fs';
import { createInterface } from 'node:readline';

interface LogLine {
  time?: string;
  level?: number;
  service?: string;
  msg?: string;
  [k: string]: unknown;
}

const levelNames: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };
const HIDDEN = new Set(['time', 'level', 'service', 'msg', 'pid', 'hostname']);

/** One readable line from a pino JSON line: time, level, service, message, then the structured fields. */
export function formatLogLine(raw: string): string {
  let l: LogLine;
  try {
    l = JSON.parse(raw) as LogLine;
  } catch {
    return raw;
  }
  const fields = Object.entries(l).filter(([k]) => !HIDDEN.has(k)).map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return `${l.time ?? ''} ${(levelNames[l.level ?? 30] ?? String(l.level)).padEnd(5)} ${(l.service ?? 'infra').padEnd(7)} ${l.msg ?? ''}${fields.length ? `  ${fields.join(' ')}` : ''}`;
}

function matches(raw: string, service: string | undefined): boolean {
  if (!service) return true;
  try {
    return ((JSON.parse(raw) as LogLine).service ?? 'infra') === service;
  } catch {
    return false;
  }
}

/** Prints the last `lines` lines (of one service, if given); with follow, keeps printing new ones until aborted. */
export async function showLogs(opts: { file: string; service?: string; lines: number; follow: boolean; raw: boolean; out: (s: string) => void; signal?: AbortSignal }): Promise<void> {
  const print = (raw: string): void => {
    if (raw && matches(raw, opts.service)) opts.out(opts.raw ? raw : formatLogLine(raw));
  };
  let offset = 0;
  if (existsSync(opts.file)) {
    const tail: string[] = [];
    const rl = createInterface({ input: createReadStream(opts.file) });
    for await (const line of rl) {
      if (!line || !matches(line, opts.service)) continue;
      tail.push(line);
      if (tail.length > opts.lines) tail.shift();
    }
    tail.forEach(print);
    offset = statSync(opts.file).size;
  }
  if (!opts.follow) return;
  await new Promise<void>((resolve) => {
    let partial = '';
    let reading = false;
    const readMore = (): void => {
      if (reading || !existsSync(opts.file)) return;
      const size = statSync(opts.file).size;
      if (size < offset) offset = 0; // truncated or rotated
      if (size === offset) return;
      reading = true;
      const stream = createReadStream(opts.file, { start: offset, end: size - 1, encoding: 'utf8' });
      stream.on('data', (chunk) => {
        const text = partial + String(chunk);
        const parts = text.split('\n');
        partial = parts.pop() ?? '';
        parts.forEach(print);
      });
      stream.on('close', () => {
        offset = size;
        reading = false;
      });
    };
    const poll = setInterval(readMore, 250);
    let watcher: ReturnType<typeof watch> | undefined;
    try {
      watcher = watch(opts.file, readMore);
    } catch {
      // the file does not exist yet: polling picks it up
    }
    opts.signal?.addEventListener('abort', () => {
      clearInterval(poll);
      watcher?.close();
      resolve();
    });
  });
}
