import { execFile } from 'node:child_process';
import { existsSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '@infra/core';

/** A session's recording left in <media>/rec by a run that did not end it: the first part and the later ones, in order. */
export interface LeftoverRecording {
  streamId: string;
  sessionId: string;
  /** <streamId>.<sessionId>.ts */
  tsFile: string;
  /** `.ts.part1`, `.ts.part2` …: what later ffmpeg runs of the session recorded */
  parts: string[];
  startedAt: number;
  endedAt: number;
}

/**
 * The recordings in `recDir` of sessions not live now, grouped by session. A join the crash interrupted is removed
 * (it starts over); a session whose first part is missing is led by its next part.
 */
export function leftoverRecordings(recDir: string, liveStreams: ReadonlySet<string>): LeftoverRecording[] {
  const sessions = new Map<string, { streamId: string; sessionId: string; files: { n: number; file: string }[] }>();
  for (const f of readdirSync(recDir)) {
    if (/\.ts\.(joined\.ts|concat\.txt)$/.test(f)) {
      rmSync(join(recDir, f), { force: true });
      continue;
    }
    const m = /^(st_[0-9a-z]{26})\.(ls_[0-9a-z]{26})\.ts(?:\.part(\d{1,4}))?$/.exec(f);
    if (!m || liveStreams.has(m[1]!)) continue;
    const key = `${m[1]}.${m[2]}`;
    let session = sessions.get(key);
    if (!session) sessions.set(key, (session = { streamId: m[1]!, sessionId: m[2]!, files: [] }));
    session.files.push({ n: m[3] ? Number(m[3]) : 0, file: join(recDir, f) });
  }
  return [...sessions].map(([key, { streamId, sessionId, files }]) => {
    files.sort((a, b) => a.n - b.n);
    const tsFile = join(recDir, `${key}.ts`);
    const times = files.map((p) => statSync(p.file));
    if (files[0]!.n !== 0) renameSync(files[0]!.file, tsFile);
    return {
      streamId, sessionId, tsFile, parts: files.slice(1).map((p) => p.file),
      startedAt: Math.round(times[0]!.birthtimeMs || times[0]!.ctimeMs), endedAt: Math.round(Math.max(...times.map((t) => t.mtimeMs))),
    };
  });
}

/**
 * The recording parts of a session whose ffmpeg restarted, joined into the first one with ffmpeg's concat demuxer
 * (stream copy): each run starts its timestamps afresh, and the demuxer shifts every part to follow the one before.
 * If the join fails the parts stay on disk beside the recording (the log names them): nothing recorded is deleted.
 */
export async function joinParts(ffmpegPath: string | undefined, main: string, parts: string[], log: Logger): Promise<void> {
  const files = [main, ...parts].filter((f) => existsSync(f) && statSync(f).size > 0);
  if (!ffmpegPath || files.length < 2) return;
  const list = `${main}.concat.txt`;
  const joined = `${main}.joined.ts`;
  writeFileSync(list, files.map((f) => `file '${f.replaceAll("'", "'\\''")}'`).join('\n') + '\n');
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', '-f', 'mpegts', joined], (err, _out, stderr) =>
        err ? reject(new Error(`${err.message}: ${String(stderr).slice(-300)}`)) : resolve());
    });
    renameSync(joined, main);
    for (const part of parts) rmSync(part, { force: true });
    log.info({ parts: files.length }, 'recording parts joined');
  } catch (err) {
    rmSync(joined, { force: true });
    log.error({ err: (err as Error).message, parts }, 'recording parts could not be joined: the VOD asset holds the first part only; the others stay on disk');
  } finally {
    rmSync(list, { force: true });
  }
}
