import type { ChildProcess } from 'node:child_process';
import type { Writable } from 'node:stream';
import ffmpeg from 'fluent-ffmpeg';
import type { Logger } from '@infra/core';
import type { FfmpegJob } from './ladder.js';

export interface FfmpegRun {
  readonly pid: number | undefined;
  /** resolves when ffmpeg exited, with its exit code (null when killed by a signal) */
  readonly exited: Promise<number | null>;
  /** resolves with ffmpeg's stdin once it is spawned (undefined if it never was) */
  readonly spawned: Promise<Writable | undefined>;
  /**
   * End of input (EOF on stdin when it is the input, else `q`): ffmpeg finishes every output (last segment,
   * #EXT-X-ENDLIST, trailers); then SIGINT, then SIGKILL
   */
  stop(graceMs?: number): Promise<number | null>;
}

/** Every ffmpeg this process started and has not seen exit: killed on shutdown, so none outlives us. */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // last resort for a crash or process.exit: the graceful path is stop()
  process.once('exit', () => {
    for (const p of running) p.kill('SIGKILL');
  });
}

/**
 * fluent-ffmpeg checks the formats and encoders of every command against `ffmpeg -formats` and `-encoders`, run once
 * per process on first use: run them at start, not in front of the first live stream's ladder.
 */
export function warmUpFfmpeg(path: string): Promise<void> {
  return new Promise((resolve) => {
    const cmd = ffmpeg().setFfmpegPath(path);
    cmd.availableFormats(() => cmd.availableEncoders(() => resolve()));
  });
}

/**
 * Starts one ffmpeg job through fluent-ffmpeg. With `onProgress`, ffmpeg reports (`-progress pipe:2`, about twice a
 * second) how much media it has written: `outTimeUs`, microseconds of output time. With input `pipe:0` the caller
 * writes the input to `spawned`'s stdin.
 */
export function runFfmpeg(path: string, input: string, job: FfmpegJob, log: Logger, onProgress?: (outTimeUs: number) => void): FfmpegRun {
  const stdinInput = input === 'pipe:0';
  installExitHook();
  // the last 100 stderr lines, not every line of a live ladder's lifetime (stdoutLines: 0 keeps them all)
  const cmd = ffmpeg({ stdoutLines: 100 }).setFfmpegPath(path).input(input).inputOptions(...job.inputOptions, ...(onProgress ? ['-progress', 'pipe:2'] : []));
  if (job.complexFilter) cmd.complexFilter(job.complexFilter);
  // spread, not an array: given an array, fluent-ffmpeg splits every value holding one space (var_stream_map)
  for (const o of job.outputs) cmd.output(o.file).outputOptions(...o.options);

  let proc: ChildProcess | undefined;
  let resolveExit!: (code: number | null) => void;
  const exited = new Promise<number | null>((r) => (resolveExit = r));
  const started = new Promise<void>((resolve) => {
    cmd.on('start', (line: string) => {
      proc = (cmd as unknown as { ffmpegProc: ChildProcess }).ffmpegProc;
      running.add(proc);
      proc.once('exit', (code) => {
        if (proc) running.delete(proc);
        resolveExit(code);
      });
      // a killed ffmpeg makes the next write EPIPE: the exit is handled above, the error is not news
      proc.stdin?.on('error', (err: Error) => log.debug({ err: err.message }, 'ffmpeg stdin closed'));
      log.debug({ pid: proc.pid, cmd: line }, 'ffmpeg started');
      resolve();
    });
  });
  const spawned = Promise.race([started.then(() => proc?.stdin ?? undefined), exited.then(() => undefined)]);
  let outTimeUs = 0;
  cmd.on('stderr', (line: string) => {
    // -progress writes key=value lines; a block ends with progress=continue|end
    if (onProgress && line.startsWith('out_time_ms=')) outTimeUs = Number(line.slice(12)) || outTimeUs;
    else if (onProgress && line.startsWith('progress=')) onProgress(outTimeUs);
    else if (!onProgress || !/^[a-z_0-9]+=/.test(line)) log.debug({ ffmpeg: line }, 'ffmpeg');
  });
  cmd.on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
    log.debug({ err: err.message, stderr: stderr?.slice(-500) }, 'ffmpeg ended with an error');
    if (!proc) resolveExit(-1); // never spawned
  });
  cmd.on('end', () => undefined);
  cmd.run();

  return {
    get pid() {
      return proc?.pid;
    },
    exited,
    spawned,
    async stop(graceMs = 3000): Promise<number | null> {
      await Promise.race([started, exited]);
      const p = proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return exited;
      if (stdinInput) p.stdin?.end();
      else p.stdin?.write('q');
      // ffmpeg reads `q` between packets; a stalled network input blocks that, SIGINT interrupts it and still writes trailers
      const sigint = setTimeout(() => p.kill('SIGINT'), Math.min(1000, graceMs / 2));
      const sigkill = setTimeout(() => p.kill('SIGKILL'), graceMs);
      try {
        return await exited;
      } finally {
        clearTimeout(sigint);
        clearTimeout(sigkill);
      }
    },
  };
}

export function runningFfmpegCount(): number {
  return running.size;
}
