export { startMedia, INGEST_APP, type RunningMedia } from './ingest/service.js';
export { locateFfmpeg, ffmpegVersion, type FfmpegBinary } from './ffmpeg/locate.js';
export { buildLadderJob, gopFrames, type LadderPlan, type Rendition } from './transcode/ladder.js';
export type { StreamKeyReply, StreamReply, StreamEvent } from './streams/schema.js';
export type { AssetReply } from './recordings/schema.js';
export { renderNginxEdge, type EdgeOptions } from './edge/nginx.js';
