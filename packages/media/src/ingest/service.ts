import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Socket } from 'node:net';
import type { FastifyPluginAsync } from 'fastify';
import { listenOn, parseDuration, sweepHourly, urlHost, type Endpoint, type Health, type HttpRoutes, type RunningService, type ServiceContext } from '@infra/core';
import { loadNms, type NmsSession } from './nms.js';
import { LiveSessions, type TranscodeInfo } from './live-sessions.js';
import { HlsViewers } from './viewers.js';
import { locateFfmpeg, type FfmpegBinary } from '../ffmpeg/locate.js';
import { warmUpFfmpeg } from '../transcode/process.js';
import type { Kysely } from 'kysely';
import { openMediaDb, type MediaDb } from '../db.js';
import { StreamService, StreamStore, streamRoutes, type StreamTables } from '../streams/index.js';
import { AssetStore, RecordingService, recordingRoutes, type RecordingTables } from '../recordings/index.js';
import { fileRoutes } from '../http/files.js';
import { ReviewService, ReviewStore, reviewRoutes, type ReviewTables } from '../review/index.js';

/** OBS pushes to rtmp://host:port/live with Stream Key `<streamId>?key=<secret>`. */
export const INGEST_APP = 'live';

export interface RunningMedia extends RunningService {
  readonly ffmpeg: FfmpegBinary | undefined;
  readonly routes: HttpRoutes[];
  readonly streams: StreamService;
  readonly recordings: RecordingService;
  /** stream ids being published right now */
  liveStreams(): string[];
  /** the ffmpeg of each live session: pid, renditions it encodes, dropped ones, restarts */
  transcodes(): TranscodeInfo[];
}

/**
 * Starts RTMP ingest on media.rtmp.port and HTTP-FLV/WS-FLV on media.http.port, media.db, and the
 * live pipeline. Every publish needs a stored, unrevoked, unexpired stream key. The HTTP API
 * (/api/v1/media/…) and the HLS/VOD files (/live/…, /vod/…) are plugins for the gateway (`routes`).
 */
export async function startMedia(ctx: ServiceContext): Promise<RunningMedia> {
  const log = ctx.logger.child({ service: 'media' });
  const { http, media } = ctx.config;
  const mediaDir = join(ctx.dataDir, 'media');
  const dirs = { liveDir: join(mediaDir, 'live'), vodDir: join(mediaDir, 'vod') };

  for (const d of [dirs.liveDir, dirs.vodDir, join(mediaDir, 'rec')]) mkdirSync(d, { recursive: true });
  const opened = await openMediaDb(ctx.dataDir);
  const db: MediaDb = opened.db;
  let ffmpeg: FfmpegBinary | undefined;
  // the stream-key salt of the spine is the playback-token key now that publish keys are stored hashed
  const streams = new StreamService(new StreamStore(db as unknown as Kysely<StreamTables>), { defaultKeyTtl: media.streamKeyTtl, logger: log, playbackSecret: ctx.secrets.streamKeySalt, ...(ctx.bus ? { bus: ctx.bus } : {}) });
  const recordings = new RecordingService(new AssetStore(db as unknown as Kysely<RecordingTables>), { vodDir: dirs.vodDir, ffmpegPath: () => ffmpeg?.path, logger: log });

  const { NodeMediaServer, context } = loadNms(log);
  const nms = new NodeMediaServer({
    bind: http.host,
    // placeholders: NMS only creates a server for a truthy port; we listen on the real one below
    rtmp: { port: 1, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
    http: { port: 1, allow_origin: '*' },
    webadmin: { enable: false },
    store: { path: join(mediaDir, 'nms') },
  });

  let rtmpPort = 0;
  let flvPort = 0;
  const review: ReviewService = new ReviewService(new ReviewStore(db as unknown as Kysely<ReviewTables>), streams, (): LiveSessions => sessions, { frameDir: join(mediaDir, 'review'), classifierUrl: media.review.classifierUrl, logger: log });
  const hlsViewers = new HlsViewers(Math.max(6, media.hls.segmentSeconds * 3) * 1000);
  const sessions: LiveSessions = new LiveSessions({
    hlsViewers: (streamId) => hlsViewers.count(streamId),
    viewerCountMs: media.viewerCountSeconds * 1000,
    sampleFrame: (streamId, sessionId, coverFile): Promise<unknown> => review.sample(streamId, sessionId, coverFile),
    config: media,
    streams,
    recordings,
    logger: log,
    mediaDir,
    ffmpegPath: () => ffmpeg?.path,
    broadcastOf: (streamId) => context.broadcasts.get(`/${INGEST_APP}/${streamId}`),
  });
  const onPrePublish = (session: NmsSession): void => sessions.onPrePublish(session, session.streamApp);
  const onPrePlay = (session: NmsSession): void => sessions.onPrePlay(session);
  context.eventEmitter.on('prePublish', onPrePublish);
  context.eventEmitter.on('prePlay', onPrePlay);

  const rtmpServer = nms.rtmpServer.tcpServer;
  // RTMP's handshake and connect/publish are request-response exchanges of small messages, several per turn (window
  // size, peer bandwidth, chunk size, _result). With Nagle's algorithm on, each message after the first waits for the
  // pusher's delayed ACK (40 ms on Linux): the first keyframe reached players ~45 ms later (scripts/bench-media.mjs).
  rtmpServer.prependListener('connection', (socket: Socket) => socket.setNoDelay(true));
  const flvServer = nms.httpServer.httpServer;
  // NMS's own listen-error handler exits the process; keep ws's re-emitter, drop NMS's, and let listenOn report.
  const [nmsHandler] = flvServer.listeners('error');
  if (nmsHandler) flvServer.off('error', nmsHandler as (...args: unknown[]) => void);
  nms.httpServer.wsServer?.on('error', (err: Error) => log.debug({ err: err.message }, 'flv ws server error'));

  let stopped = false;
  let retention: NodeJS.Timeout | undefined;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    clearInterval(retention);
    await sessions.close();
    context.eventEmitter.off('prePublish', onPrePublish);
    context.eventEmitter.off('prePlay', onPrePlay);
    await nms.stop();
    await opened.close();
  };
  try {
    rtmpPort = await listenOn(rtmpServer, media.rtmp.port, http.host, 'media.rtmp.port');
    flvPort = await listenOn(flvServer, media.http.port, http.host, 'media.http.port');
  } catch (err) {
    await stop();
    throw err;
  }

  try {
    ffmpeg = await locateFfmpeg(media.ffmpeg);
    await warmUpFfmpeg(ffmpeg.path);
    log.info({ ffmpeg }, 'ffmpeg found');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'no ffmpeg: ingest and FLV work, HLS, covers and recordings will not');
  }

  const host = urlHost(http.host);
  const endpoints: Endpoint[] = [
    { name: 'rtmp', url: `rtmp://${host}:${rtmpPort}/${INGEST_APP}`, port: rtmpPort, configKey: 'media.rtmp.port' },
    { name: 'flv', url: `http://${host}:${flvPort}/${INGEST_APP}/{streamId}.flv`, port: flvPort, configKey: 'media.http.port' },
  ];
  log.info({ rtmpPort, flvPort }, 'media listening');

  if (media.vodRetention) {
    const maxAgeMs = parseDuration(media.vodRetention) * 1000;
    retention = sweepHourly(() => recordings.sweep(maxAgeMs), (err) => log.error({ err: err.message }, 'VOD retention sweep failed'));
  }

  // a previous run that crashed left sessions marked live and recordings not yet turned into assets
  void sessions.recover().catch((err: Error) => log.error({ err: err.message }, 'recovery of the previous run failed'));

  const where = { publicUrl: http.publicUrl, ports: () => ({ rtmpPort, flvPort }) };
  const api: FastifyPluginAsync = async (app) => {
    await app.register(streamRoutes(streams, where));
    await app.register(recordingRoutes(recordings));
    await app.register(reviewRoutes(review));
  };
  const routes: HttpRoutes[] = [
    { name: 'media', plugin: api },
    { name: 'media-files', prefix: '', plugin: fileRoutes({ ...dirs, mayPlay: (id, token) => streams.mayPlay(id, token), onPlaylist: (id, client) => hlsViewers.touch(id, client) }) },
  ];

  return {
    name: 'media',
    ready: Promise.resolve(),
    endpoints,
    routes,
    ffmpeg,
    streams,
    recordings,
    liveStreams: () => sessions.live(),
    transcodes: () => sessions.transcodes(),
    async health(): Promise<Health> {
      if (!rtmpServer.listening || !flvServer.listening) return { ok: false, detail: 'RTMP or FLV listener closed' };
      return { ok: true, live: sessions.live().length, ffmpeg: ffmpeg ? `${ffmpeg.version} (${ffmpeg.source})` : 'missing' };
    },
    close: stop,
  };
}
