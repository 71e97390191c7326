import { join } from 'node:path';
import type { FastifyPluginAsync } from 'fastify';
import type { Logger, ServiceContext } from '@infra/core';
import type { MessageReferences } from '../im/service.js';
import { DerivativeQueue, FilePaths } from './derive.js';
import { FfmpegRunner, locateFfmpeg } from './ffmpeg.js';
import { filesRoutes } from './routes.js';
import { FileService, type IsMember } from './service.js';
import { StickerService } from './stickers.js';
import { FileStore } from './store.js';

export interface RunningFiles {
  files: FileService;
  stickers: StickerService;
  /** hand to ImService: file and sticker references in message bodies */
  references: MessageReferences;
  routes: FastifyPluginAsync;
  /** derivatives still being made (tests) */
  idle(): Promise<void>;
  /** stops taking derivative jobs and kills running ffmpeg children */
  close(): Promise<void>;
}

/**
 * The files module inside the broker: bytes under <data.dir>/files, metadata in the IM database (`db`, migrated by
 * the caller with filesMigrations), derivatives by ffmpeg (media.ffmpeg, else PATH, else the bundled binary).
 */
export async function startFiles(ctx: ServiceContext, db: unknown, isMember: IsMember, log: Logger): Promise<RunningFiles> {
  const store = FileStore.over(db);
  const settings = ctx.config.files;
  const paths = new FilePaths(join(ctx.dataDir, 'files'));
  const swept = paths.sweep();
  if (swept) log.info({ files: swept }, 'removed half-written uploads and derivatives');
  let ffmpeg: string | undefined;
  const runner = new FfmpegRunner(() => (ffmpeg ??= locateFfmpeg(ctx.config.media.ffmpeg)), settings.processTimeoutMs);
  const queue = new DerivativeQueue(store, runner, paths, settings, log.child({ module: 'files' }));
  const files = new FileService(store, settings, paths, queue, isMember, log.child({ module: 'files' }));
  const stickers = new StickerService(store, files);
  await files.resume();
  return {
    files,
    stickers,
    references: files.messageReferences(stickers),
    routes: filesRoutes(files, stickers),
    idle: () => queue.idle(),
    async close() {
      queue.close();
      await runner.close();
      await queue.idle(); // the killed jobs have cleaned up after themselves before the database closes
    },
  };
}
