import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';
import { InfraError } from './errors.js';

/** Where an ffmpeg binary came from: media.ffmpeg in infra.yaml, ffmpeg on PATH, or the npm-shipped binary. */
export type FfmpegSource = 'config' | 'system' | 'bundled';

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/**
 * The one ffmpeg lookup every pillar uses (media's pipeline, the broker's file derivatives): media.ffmpeg when set
 * (it must be executable), else ffmpeg on PATH, else the binary @ffmpeg-installer ships (FFmpeg 4.1, no ffprobe).
 */
export function findFfmpeg(configured: string, pathEnv: string | undefined = process.env['PATH']): { path: string; source: FfmpegSource } {
  if (configured) {
    if (!isExecutable(configured)) throw new InfraError('INFRA_ERR_FFMPEG_MISSING', `media.ffmpeg is ${configured}, which is not an executable file`);
    return { path: configured, source: 'config' };
  }
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, 'ffmpeg'))) return { path: join(dir, 'ffmpeg'), source: 'system' };
  }
  try {
    const installer = createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string };
    if (isExecutable(installer.path)) return { path: installer.path, source: 'bundled' };
  } catch { /* no binary for this platform */ }
  throw new InfraError('INFRA_ERR_FFMPEG_MISSING', 'no ffmpeg: not on PATH and @ffmpeg-installer/ffmpeg has no binary for this platform');
}
