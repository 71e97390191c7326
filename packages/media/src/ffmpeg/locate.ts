import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { createRequire } from 'node:module';
import { execFile } from 'node:child_process';
import { InfraError } from '@infra/core';

export interface FfmpegBinary {
  path: string;
  /** where it came from: media.ffmpeg in infra.yaml, ffmpeg on PATH, or the npm-shipped binary */
  source: 'config' | 'system' | 'bundled';
  /** e.g. "4.1" or "6.1.1-3" */
  version: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

function onPath(name: string, pathEnv: string | undefined): string | undefined {
  for (const dir of (pathEnv ?? '').split(delimiter)) {
    if (dir && isExecutable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

function bundled(): string | undefined {
  try {
    const require = createRequire(import.meta.url);
    const installer = require('@ffmpeg-installer/ffmpeg') as { path: string };
    return isExecutable(installer.path) ? installer.path : undefined;
  } catch {
    return undefined; // no binary for this platform
  }
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

/** ffmpeg from media.ffmpeg, else on PATH, else the binary @ffmpeg-installer ships (FFmpeg 4.1). */
export async function locateFfmpeg(configured: string, pathEnv: string | undefined = process.env['PATH']): Promise<FfmpegBinary> {
  if (configured) {
    if (!isExecutable(configured)) throw new InfraError('INFRA_ERR_FFMPEG_MISSING', `media.ffmpeg is ${configured}, which is not an executable file`);
    return { path: configured, source: 'config', version: await ffmpegVersion(configured) };
  }
  const system = onPath('ffmpeg', pathEnv);
  if (system) return { path: system, source: 'system', version: await ffmpegVersion(system) };
  const shipped = bundled();
  if (shipped) return { path: shipped, source: 'bundled', version: await ffmpegVersion(shipped) };
  throw new InfraError('INFRA_ERR_FFMPEG_MISSING', 'no ffmpeg: not on PATH and @ffmpeg-installer/ffmpeg has no binary for this platform');
}
