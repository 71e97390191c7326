import { init } from './migrations/0001_init.js';
import type { ModuleMigrations } from '@infra/core';

export { FileService, fileView, FILES_PATH, type FileSettings, type IsMember, type UploadInput } from './service.js';
export { StickerService } from './stickers.js';
export { FileStore, type FileTables } from './store.js';
export { DerivativeQueue, FilePaths } from './derive.js';
export { FfmpegRunner, locateFfmpeg } from './ffmpeg.js';
export { filesRoutes } from './routes.js';
export { startFiles, type RunningFiles } from './start.js';

export const filesMigrations: ModuleMigrations = { module: 'files', migrations: { '0001_init': init } };
