import { join } from 'node:path';
import { listenOn, verifyStreamKey, type Endpoint, type Health, type RunningService, type ServiceContext } from '@infra/core';
import { loadNms, type NmsSession } from './nms.js';
import { locateFfmpeg, type FfmpegBinary } from '../ffmpeg/locate.js';

/** OBS pushes to rtmp://host:port/live with Stream Key `<streamId>?key=<mac>`. */
export const INGEST_APP = 'live';

export interface RunningMedia extends RunningService {
  readonly ffmpeg: FfmpegBinary | undefined;
  /** stream ids being published right now */
  liveStreams(): string[];
}

/** Starts RTMP ingest on media.rtmp.port and HTTP-FLV/WS-FLV on media.http.port. Every publish needs a valid stream key. */
export async function startMedia(ctx: ServiceContext): Promise<RunningMedia> {
  const log = ctx.logger.child({ service: 'media' });
  const { http, media } = ctx.config;
  const { NodeMediaServer, context } = loadNms(log);

  const nms = new NodeMediaServer({
    bind: http.host,
    // placeholders: NMS only creates a server for a truthy port; we listen on the real one below
    rtmp: { port: 1, chunk_size: 60000, gop_cache: true, ping: 30, ping_timeout: 60 },
    http: { port: 1, allow_origin: '*' },
    webadmin: { enable: false },
    store: { path: join(ctx.dataDir, 'media', 'nms') },
  });

  const rejected = new WeakSet<NmsSession>();
  const onPrePublish = (session: NmsSession): void => {
    const ok = session.streamApp === INGEST_APP && verifyStreamKey(ctx.secrets.streamKeySalt, session.streamName, session.streamQuery['key']);
    if (ok) {
      log.info({ streamId: session.streamName, ip: session.ip }, 'publish accepted');
      return;
    }
    // NMS listeners cannot veto: close the socket now, and mark the session so nothing downstream starts for it.
    rejected.add(session);
    log.warn({ streamPath: session.streamPath, ip: session.ip }, 'publish refused: wrong stream key');
    session.socket?.destroy();
  };
  context.eventEmitter.on('prePublish', onPrePublish);

  const rtmpServer = nms.rtmpServer.tcpServer;
  const flvServer = nms.httpServer.httpServer;
  // NMS's own listen-error handler exits the process; keep ws's re-emitter, drop NMS's, and let listenOn report.
  const [nmsHandler] = flvServer.listeners('error');
  if (nmsHandler) flvServer.off('error', nmsHandler as (...args: unknown[]) => void);
  nms.httpServer.wsServer?.on('error', (err: Error) => log.debug({ err: err.message }, 'flv ws server error'));

  let rtmpPort = 0;
  let flvPort = 0;
  const stop = async (): Promise<void> => {
    context.eventEmitter.off('prePublish', onPrePublish);
    await nms.stop();
  };
  try {
    rtmpPort = await listenOn(rtmpServer, media.rtmp.port, http.host, 'media.rtmp.port');
    flvPort = await listenOn(flvServer, media.http.port, http.host, 'media.http.port');
  } catch (err) {
    await stop();
    throw err;
  }

  let ffmpeg: FfmpegBinary | undefined;
  try {
    ffmpeg = await locateFfmpeg(media.ffmpeg);
    log.info({ ffmpeg }, 'ffmpeg found');
  } catch (err) {
    log.warn({ err: (err as Error).message }, 'no ffmpeg: ingest and FLV work, transcoding will not');
  }

  const host = http.host.includes(':') ? `[${http.host}]` : http.host;
  const endpoints: Endpoint[] = [
    { name: 'rtmp', url: `rtmp://${host}:${rtmpPort}/${INGEST_APP}`, port: rtmpPort, configKey: 'media.rtmp.port' },
    { name: 'flv', url: `http://${host}:${flvPort}/${INGEST_APP}/{streamId}.flv`, port: flvPort, configKey: 'media.http.port' },
  ];
  log.info({ rtmpPort, flvPort }, 'media listening');

  const liveStreams = (): string[] => {
    const out: string[] = [];
    for (const [path, b] of context.broadcasts) if (b.publisher && !rejected.has(b.publisher)) out.push(path.split('/')[2] ?? path);
    return out;
  };

  return {
    name: 'media',
    ready: Promise.resolve(),
    endpoints,
    ffmpeg,
    liveStreams,
    async health(): Promise<Health> {
      if (!rtmpServer.listening || !flvServer.listening) return { ok: false, detail: 'RTMP or FLV listener closed' };
      return { ok: true, live: liveStreams().length, ffmpeg: ffmpeg ? `${ffmpeg.version} (${ffmpeg.source})` : 'missing' };
    },
    close: stop,
  };
}
