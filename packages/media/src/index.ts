export { startMedia, INGEST_APP, type RunningMedia } from './ingest/service.js';
export { locateFfmpeg, ffmpegVersion, type FfmpegBinary } from './ffmpeg/locate.js';
