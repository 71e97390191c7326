import { spawn, type ChildProcess } from 'node:child_process';
import { findFfmpeg, InfraError } from '@infra/core';

/** The ffmpeg path for derivatives: core's one lookup (media.ffmpeg, else PATH, else the bundled FFmpeg 4.1). */
export function locateFfmpeg(configured: string, pathEnv: string | undefined = process.env['PATH']): string {
  return findFfmpeg(configured, pathEnv).path;
}

const STDERR_KEEP = 64 * 1024;

/** Runs ffmpeg jobs with a timeout; every child is tracked so close() kills what still runs. */
export class FfmpegRunner {
  private readonly children = new Set<ChildProcess>();
  private closed = false;

  constructor(private readonly path: () => string, private readonly timeoutMs: number) {}

  /** Resolves with ffmpeg's stderr (the last 64 KiB) when it exits 0; rejects otherwise (the error carries `stderr`). */
  run(args: string[]): Promise<string> {
    if (this.closed) return Promise.reject(new Error('ffmpeg runner closed'));
    return new Promise((resolve, reject) => {
      const child = spawn(this.path(), ['-hide_banner', '-nostdin', '-y', ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
      this.children.add(child);
      let stderr = '';
      let timedOut = false;
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (d: string) => {
        stderr += d;
        if (stderr.length > 2 * STDERR_KEEP) stderr = stderr.slice(-STDERR_KEEP);
      });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, this.timeoutMs);
      child.on('error', (err) => {
        clearTimeout(timer);
        this.children.delete(child);
        reject(err);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.children.delete(child);
        if (code === 0) return resolve(stderr);
        const why = timedOut ? `timed out after ${this.timeoutMs} ms` : signal ? `killed by ${signal}` : `exit ${code}: ${lastLine(stderr)}`;
        reject(Object.assign(new Error(`ffmpeg ${why}`), { stderr }));
      });
    });
  }

  get running(): number {
    return this.children.size;
  }

  /** Kills every running ffmpeg and waits until they are gone. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.children].map((c) => new Promise<void>((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve();
      c.once('close', () => resolve());
      c.kill('SIGKILL');
    })));
  }
}

function lastLine(stderr: string): string {
  const lines = stderr.trim().split(/[\r\n]+/);
  return (lines[lines.length - 1] ?? '').slice(0, 300);
}

const seconds = (h: string, m: string, s: string): number => Number(h) * 3600 + Number(m) * 60 + Number(s);

/** What ffmpeg's stderr says about its first input: container duration and the first video stream's size. */
export function describeInput(stderr: string): { durationMs?: number; width?: number; height?: number } {
  const input = stderr.split(/^Output #0/m)[0] ?? stderr;
  const out: { durationMs?: number; width?: number; height?: number } = {};
  const d = /Duration: (\d+):(\d+):(\d+(?:\.\d+)?)/.exec(input);
  if (d) out.durationMs = Math.round(seconds(d[1]!, d[2]!, d[3]!) * 1000);
  const v = /Stream #\d+:\d+[^\n]*: Video: [^\n]*?[ ,](\d{1,5})x(\d{1,5})[ ,[\n]/.exec(input);
  if (v) {
    out.width = Number(v[1]);
    out.height = Number(v[2]);
  }
  return out;
}

/** The media time ffmpeg reached (its last progress line): the decoded length when no container duration exists. */
export function processedMs(stderr: string): number | undefined {
  let last: RegExpExecArray | null = null;
  const re = /time=(\d+):(\d+):(\d+(?:\.\d+)?)/g;
  for (let m = re.exec(stderr); m; m = re.exec(stderr)) last = m;
  return last ? Math.round(seconds(last[1]!, last[2]!, last[3]!) * 1000) : undefined;
}
