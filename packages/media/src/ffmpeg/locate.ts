import { execFile } from 'node:child_process';
import { findFfmpeg, InfraError, type FfmpegSource } from '@infra/core';

export interface FfmpegBinary {
  path: string;
  /** where it came from: media.ffmpeg in infra.yaml, ffmpeg on PATH, or the npm-shipped binary */
  source: FfmpegSource;
  /** e.g. "4.1" or "6.1.1-3" */
  version: string;
}

export function ffmpegVersion(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 10_000 }, (err, stdout) => {
      if (err) return reject(new InfraError('INFRA_ERR_FFMPEG_MISSING', `${path} -version failed: ${err.message}`));
      const m = /ffmpeg version (\S+)/.exec(stdout);
      resolve(m?.[1] ?? 'unknown');
    });
  });
}

/** ffmpeg from media.ffmpeg, else on PATH, else the binary @ffmpeg-installer ships (FFmpeg 4.1), with its version. */
export async function locateFfmpeg(configured: string, pathEnv: string | undefined = process.env['PATH']): Promise<FfmpegBinary> {
  const found = findFfmpeg(configured, pathEnv);
  return { ...found, version: await ffmpegVersion(found.path) };
}
