import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { Logger } from '@infra/core';
import { describeInput, processedMs, type FfmpegRunner } from './ffmpeg.js';
import type { Derived, FileRow, FileStore } from './store.js';

/** Where a file's bytes and derivatives live under <data.dir>/files. */
export class FilePaths {
  constructor(readonly root: string) {
    for (const d of ['blobs', 'derived', 'tmp']) mkdirSync(join(root, d), { recursive: true });
  }
  blob(id: string): string {
    return join(this.root, 'blobs', id);
  }
  thumbnail(id: string): string {
    return join(this.root, 'derived', `${id}.jpg`);
  }
  audio(id: string): string {
    return join(this.root, 'derived', `${id}.m4a`);
  }
  tmp(name: string): string {
    return join(this.root, 'tmp', name);
  }
  /** At start: uploads and derivatives a stop interrupted are half-written; nothing refers to them. */
  sweep(): number {
    const stale = [
      ...readdirSync(join(this.root, 'tmp')).map((f) => join(this.root, 'tmp', f)),
      ...readdirSync(join(this.root, 'derived')).filter((f) => f.endsWith('.part')).map((f) => join(this.root, 'derived', f)),
    ];
    for (const f of stale) rmSync(f, { force: true });
    return stale.length;
  }
}

/**
 * Makes derivatives off the request path: a JPEG thumbnail of an image, a cover frame of a video (both at most
 * files.thumbnailPx on the longest side), the duration and an AAC (m4a) transcode of audio. At most
 * files.ffmpegConcurrency ffmpeg processes at once; each job has files.processTimeoutMs.
 */
export class DerivativeQueue {
  private readonly waiting: FileRow[] = [];
  private active = 0;
  private closed = false;
  private readonly idleWaiters: (() => void)[] = [];

  constructor(
    private readonly store: FileStore,
    private readonly runner: FfmpegRunner,
    private readonly paths: FilePaths,
    private readonly settings: { thumbnailPx: number; ffmpegConcurrency: number },
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  enqueue(row: FileRow): void {
    if (this.closed) return;
    this.waiting.push(row);
    this.pump();
  }

  /** Resolves when nothing waits or runs (tests, shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.waiting.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  close(): void {
    this.closed = true;
    this.waiting.length = 0;
  }

  private pump(): void {
    while (!this.closed && this.active < this.settings.ffmpegConcurrency && this.waiting.length > 0) {
      const row = this.waiting.shift() as FileRow;
      this.active++;
      void this.process(row).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.waiting.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async process(row: FileRow): Promise<void> {
    const started = this.now();
    try {
      const derived = await this.derive(row);
      if (this.closed) return; // killed by shutdown: stays `processing` and is redone at the next start
      await this.store.finish(row.id, 'ready', derived, null, this.now());
      this.log.info({ fileId: row.id, kind: row.kind, ms: this.now() - started }, 'file derivatives ready');
    } catch (err) {
      if (this.closed) return;
      const message = (err as Error).message.slice(0, 500);
      this.log.warn({ fileId: row.id, kind: row.kind, err: message }, 'file processing failed');
      await this.store.finish(row.id, 'failed', { hasThumbnail: false, hasAudio: false }, message, this.now()).catch(() => undefined);
    }
  }

  private async derive(row: FileRow): Promise<Derived> {
    const src = this.paths.blob(row.id);
    const px = this.settings.thumbnailPx;
    const scale = `scale=w='min(${px},iw)':h='min(${px},ih)':force_original_aspect_ratio=decrease`;
    if (row.kind === 'image' || row.kind === 'video') {
      const out = this.paths.thumbnail(row.id);
      let stderr: string;
      try {
        stderr = await this.produce(out, (tmp) => ['-i', src, '-map', '0:v:0', '-frames:v', '1', '-vf', scale, '-pix_fmt', 'yuvj420p', '-q:v', '4', '-f', 'mjpeg', tmp]);
      } catch (err) {
        // MP4/3GP/WebM with sound only (phones record voice like that): the sniffer says video, ffmpeg knows better
        const said = (err as { stderr?: string }).stderr ?? '';
        if (row.kind === 'video' && /matches no streams/.test(said) && /Stream #\d+:\d+[^\n]*: Audio:/.test(said)) return { ...(await this.deriveAudio(row.id)), kind: 'audio' };
        throw err;
      }
      const info = describeInput(stderr);
      return { ...(info.width ? { width: info.width, height: info.height } : {}), ...(row.kind === 'video' && info.durationMs ? { durationMs: info.durationMs } : {}), hasThumbnail: true, hasAudio: false };
    }
    if (row.kind === 'audio') return this.deriveAudio(row.id);
    return { hasThumbnail: false, hasAudio: false };
  }

  private async deriveAudio(id: string): Promise<Derived> {
    const stderr = await this.produce(this.paths.audio(id), (tmp) => ['-i', this.paths.blob(id), '-vn', '-map', '0:a:0', '-c:a', 'aac', '-b:a', '64k', '-f', 'ipod', tmp]);
    // the container's duration when it states one (WAV, MP4), else how far decoding got (streams without one)
    const durationMs = describeInput(stderr).durationMs ?? processedMs(stderr);
    if (!durationMs) throw new Error('ffmpeg reported no duration');
    return { durationMs, hasThumbnail: false, hasAudio: true };
  }

  /** ffmpeg writes to a temp name that is renamed into place, so a half-written derivative is never served. */
  private async produce(out: string, args: (tmp: string) => string[]): Promise<string> {
    // beside the result (same directory: the rename is atomic; tmp/ holds uploads only), unique per job
    const tmp = `${out}.${randomBytes(4).toString('hex')}.part`;
    try {
      const stderr = await this.runner.run(args(tmp));
      await rename(tmp, out);
      return stderr;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}
