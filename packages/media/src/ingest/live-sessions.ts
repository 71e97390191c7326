import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { newId, type InfraConfig, type Logger } from '@infra/core';
import type { NmsSession } from './nms.js';
import type { StreamService } from '../streams/service.js';
import type { RecordingService } from '../recordings/service.js';
import { buildLadderJob, type Rendition } from '../transcode/ladder.js';
import { runFfmpeg, type FfmpegRun } from '../transcode/process.js';

/** What node-media-server's broadcast holds once the pusher sent its codec headers. */
export interface BroadcastHeaders {
  flvVideoHeader: Buffer | null;
  flvAudioHeader: Buffer | null;
  subscribers: Map<string, { close?: () => void }>;
}

export interface LiveSessionDeps {
  config: InfraConfig['media'];
  streams: StreamService;
  recordings: RecordingService;
  logger: Logger;
  /** <data.dir>/media */
  mediaDir: string;
  ffmpegPath: () => string | undefined;
  /** local RTMP URL to pull a stream from */
  pullUrl: (streamId: string) => string;
  broadcastOf: (streamId: string) => BroadcastHeaders | undefined;
  /** HLS viewers seen recently, per stream */
  hlsViewers: (streamId: string) => number;
  /** how often viewer counts are checked (published when they change) */
  viewerCountMs: number;
  /** puts the current cover frame into the review queue */
  sampleFrame: (streamId: string, sessionId: string, coverFile: string) => Promise<unknown>;
}

interface LiveSession {
  id: string;
  streamId: string;
  private: boolean;
  nms: NmsSession;
  startedAt: number;
  ended: boolean;
  hasAudio: boolean;
  /** set when an operator cut the stream: the session ends as `cut`, not `ended` */
  cut?: { actor: string; reason: string };
  transcode?: FfmpegRun;
  /** what the running ladder encodes now (renditions that could not keep up are dropped) */
  ladder: Rendition[];
  /** renditions dropped for falling behind real time */
  dropped: string[];
  /** when ffmpeg was restarted after a crash (the last minute counts against media.hls.maxRestarts) */
  restarts: number[];
  /** set while a deliberate restart (dropping a rendition) replaces the running ffmpeg */
  replacing?: boolean;
  /** (wall ms, output µs) progress samples of the running ffmpeg */
  progress: { wall: number; out: number }[];
  runStartedAt: number;
  recordFile?: string;
  /** the recording of each ffmpeg run (a restart starts a new part); joined when the session ends */
  recordParts: string[];
  launch?: LaunchPlan;
  sampler?: NodeJS.Timeout;
  viewerTimer?: NodeJS.Timeout;
  /** `?token=` of our own ffmpeg pull: not a viewer */
  pullToken?: string;
  lastViewers?: string;
  /** resolves when the session is fully wound down (ffmpeg gone, VOD saved) */
  done?: Promise<void>;
}

/** What every ffmpeg run of one session shares. */
interface LaunchPlan {
  ffmpegPath: string;
  pullUrl: string;
  liveDir: string;
  fps: number;
}

/** Live-session facts for operators (and tests): the ffmpeg running the ladder, what it encodes, what it went through. */
export interface TranscodeInfo {
  streamId: string;
  sessionId: string;
  pid: number | undefined;
  renditions: string[];
  dropped: string[];
  restarts: number;
}

/**
 * Accepts or refuses each RTMP publish, and runs one live session per accepted one: state events,
 * the ffmpeg ladder (HLS + cover + recording), and on the pusher's disconnect (its RTMP socket,
 * not node-media-server's 30 s grace) the stop and the VOD asset.
 */
export class LiveSessions {
  private readonly byStream = new Map<string, LiveSession>();
  private readonly refused = new WeakSet<NmsSession>();
  private readonly tokenPlayers = new WeakSet<NmsSession>();
  private closing = false;

  constructor(private readonly deps: LiveSessionDeps) {}

  isRefused(s: NmsSession): boolean {
    return this.refused.has(s);
  }

  live(): string[] {
    return [...this.byStream.values()].filter((s) => !s.ended).map((s) => s.streamId);
  }

  /**
   * node-media-server's prePublish, which cannot veto: stop reading the socket at once (no media
   * reaches viewers or ffmpeg), check the key in media.db, then resume or destroy the connection.
   */
  onPrePublish(session: NmsSession, app: string): void {
    const log = this.deps.logger;
    const socket = session.socket;
    socket?.pause();
    const refuse = (reason: string): void => {
      this.refused.add(session);
      log.warn({ streamId: session.streamName, ip: session.ip, reason }, 'publish refused');
      socket?.destroy();
    };
    if (this.closing) return refuse('shutting-down');
    if (app !== 'live') return refuse('wrong-app');
    void this.deps.streams.verifyPublish(session.streamName, session.streamQuery['key']).then(
      (verdict) => {
        if (!verdict.ok) return refuse(verdict.reason);
        if (!socket || socket.destroyed) return;
        const current = this.byStream.get(session.streamName);
        if (current && !current.ended) return refuse('already-live');
        this.begin(session, Boolean(verdict.stream.private));
        socket.resume();
      },
      (err: Error) => refuse(`check failed: ${err.message}`),
    );
  }

  /** Players (FLV, RTMP) of a private stream need `?token=`; those without a valid one are disconnected. */
  onPrePlay(player: NmsSession): void {
    if (this.deps.streams.verifyPlaybackToken(player.streamName, player.streamQuery['token'])) {
      this.tokenPlayers.add(player);
      return;
    }
    const live = this.byStream.get(player.streamName);
    if (live && !live.ended && live.private) this.refusePlayer(player);
  }

  private refusePlayer(player: NmsSession): void {
    this.deps.logger.warn({ streamId: player.streamName, ip: player.ip }, 'play refused: private stream, no valid token');
    player.close?.();
  }

  private begin(nms: NmsSession, isPrivate: boolean): void {
    const s: LiveSession = {
      id: newId('ls'), streamId: nms.streamName, private: isPrivate, nms, startedAt: Date.now(), ended: false, hasAudio: false,
      ladder: [...this.deps.config.hls.renditions], dropped: [], restarts: [], progress: [], runStartedAt: 0, recordParts: [],
    };
    // players that connected before the publish and hold no token
    if (isPrivate) for (const p of this.deps.broadcastOf(s.streamId)?.subscribers.values() ?? []) if (!this.tokenPlayers.has(p as NmsSession)) this.refusePlayer(p as NmsSession);
    this.byStream.set(s.streamId, s);
    const log = this.deps.logger.child({ streamId: s.streamId, sessionId: s.id });
    log.info({ ip: nms.ip }, 'publish accepted');
    nms.socket?.once('close', () => {
      s.done = this.end(s);
    });
    void this.deps.streams.changeState(s.streamId, s.id, 'live').catch((err: Error) => log.error({ err: err.message }, 'state not stored'));
    s.viewerTimer = setInterval(() => this.countViewers(s), this.deps.viewerCountMs);
    void this.startTranscode(s, log).catch((err: Error) => log.error({ err: err.message }, 'transcode not started'));
  }

  private countViewers(s: LiveSession): void {
    let flv = 0; // HTTP-FLV, WS-FLV and RTMP players, except our own ffmpeg pull (it carries pullToken)
    for (const p of this.deps.broadcastOf(s.streamId)?.subscribers.values() ?? []) if (!s.pullToken || (p as NmsSession).streamQuery?.['token'] !== s.pullToken) flv++;
    const viewers = { flv, hls: this.deps.hlsViewers(s.streamId) };
    const key = `${viewers.flv}/${viewers.hls}`;
    if (key === s.lastViewers) return;
    s.lastViewers = key;
    void this.deps.streams.publishViewers(s.streamId, s.id, viewers);
  }

  private async startTranscode(s: LiveSession, log: Logger): Promise<void> {
    const ffmpegPath = this.deps.ffmpegPath();
    if (!ffmpegPath) return log.warn('no ffmpeg: no HLS, cover or recording for this session');
    // wait for the codec headers: they say whether there is audio, and ffmpeg then probes instantly
    const deadline = Date.now() + 5000;
    let headers = this.deps.broadcastOf(s.streamId);
    while (!s.ended && !headers?.flvVideoHeader && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 25));
      headers = this.deps.broadcastOf(s.streamId);
    }
    if (s.ended) return;
    if (!headers?.flvVideoHeader) return log.warn('no video after 5 s: no HLS for this session');
    if (!headers.flvAudioHeader) await new Promise((r) => setTimeout(r, 100));
    s.hasAudio = Boolean(this.deps.broadcastOf(s.streamId)?.flvAudioHeader);

    const { hls, record } = this.deps.config;
    const liveDir = join(this.deps.mediaDir, 'live', s.streamId);
    rmSync(liveDir, { recursive: true, force: true }); // the previous session's playlists and segments
    hls.renditions.forEach((_, i) => mkdirSync(join(liveDir, String(i)), { recursive: true }));
    if (record) {
      mkdirSync(join(this.deps.mediaDir, 'rec'), { recursive: true });
      s.recordFile = join(this.deps.mediaDir, 'rec', `${s.streamId}.${s.id}.ts`);
    }
    const fps = s.nms.videoFramerate && s.nms.videoFramerate > 0 && s.nms.videoFramerate <= 120 ? s.nms.videoFramerate : 30;
    const pullUrl = this.deps.pullUrl(s.streamId);
    s.pullToken = new URL(pullUrl).searchParams.get('token') ?? undefined;
    s.launch = { ffmpegPath, pullUrl, liveDir, fps };
    this.run(s, log, false);
    const { sampleSeconds } = this.deps.config.review;
    if (sampleSeconds > 0) {
      s.sampler = setInterval(() => {
        void this.deps.sampleFrame(s.streamId, s.id, join(liveDir, 'cover.jpg')).catch((err: Error) => log.warn({ err: err.message }, 'frame not sampled'));
      }, sampleSeconds * 1000);
    }
  }

  /**
   * One ffmpeg run of the session's ladder. A restart (`resume`) appends to the playlists after a discontinuity and
   * records into a new part. A run that exits on its own while the stream is live is restarted (media.hls.maxRestarts
   * per minute); one that cannot keep up with real time loses its costliest rendition.
   */
  private run(s: LiveSession, log: Logger, resume: boolean): void {
    const plan = s.launch!;
    const { hls, coverSeconds } = this.deps.config;
    const part = s.recordFile ? (s.recordParts.length === 0 ? s.recordFile : `${s.recordFile}.part${s.recordParts.length}`) : undefined;
    if (part) s.recordParts.push(part);
    const job = buildLadderJob({
      input: plan.pullUrl, liveDir: plan.liveDir, renditions: s.ladder, segmentSeconds: hls.segmentSeconds, listSize: hls.listSize,
      preset: hls.preset, fps: plan.fps, hasAudio: s.hasAudio, coverSeconds, resume, ...(part ? { recordFile: part } : {}),
    });
    s.progress = [];
    s.runStartedAt = Date.now();
    const run = runFfmpeg(plan.ffmpegPath, plan.pullUrl, job, log, hls.minSpeed > 0 ? (out) => this.watchSpeed(s, out, log) : undefined);
    s.transcode = run;
    void run.exited.then((code) => {
      if (s.ended || s.replacing || s.transcode !== run) return;
      this.restartAfterCrash(s, code, log);
    });
    log.info({ renditions: s.ladder.map((r) => r.name), fps: plan.fps, hasAudio: s.hasAudio, pid: run.pid, resume }, resume ? 'transcode restarted' : 'transcode started');
  }

  private restartAfterCrash(s: LiveSession, code: number | null, log: Logger): void {
    const now = Date.now();
    s.restarts = s.restarts.filter((t) => now - t < 60_000);
    const max = this.deps.config.hls.maxRestarts;
    if (s.restarts.length >= max) {
      log.error({ code, restarts: s.restarts.length }, `ffmpeg exited ${max} times within a minute: no HLS, cover or recording for the rest of this session`);
      s.transcode = undefined;
      return;
    }
    const delay = 250 * 2 ** s.restarts.length;
    s.restarts.push(now);
    log.warn({ code, restartInMs: delay }, 'ffmpeg exited while the stream is live: restarting it');
    setTimeout(() => {
      if (!s.ended) this.run(s, log, true);
    }, delay).unref();
  }

  /** Real-time factor over the last media.hls.speedWindowSeconds; below media.hls.minSpeed the costliest rendition goes. */
  private watchSpeed(s: LiveSession, outUs: number, log: Logger): void {
    const { minSpeed, speedWindowSeconds } = this.deps.config.hls;
    const now = Date.now();
    const windowMs = speedWindowSeconds * 1000;
    s.progress.push({ wall: now, out: outUs });
    while (s.progress.length > 2 && now - s.progress[1]!.wall >= windowMs) s.progress.shift();
    const first = s.progress[0]!;
    if (s.ended || s.replacing || now - s.runStartedAt < windowMs || now - first.wall < windowMs * 0.9) return;
    const speed = (outUs - first.out) / 1000 / (now - first.wall);
    if (speed >= minSpeed) return;
    const encoded = s.ladder.filter((r) => r.height > 0);
    if (s.ladder.length <= 1 || encoded.length === 0) {
      if (!s.dropped.includes('*')) log.warn({ speed: Number(speed.toFixed(2)), renditions: s.ladder.map((r) => r.name) }, 'transcode falls behind real time with nothing left to drop');
      s.dropped.push('*');
      s.progress = [];
      return;
    }
    const costliest = encoded.reduce((a, b) => (b.height > a.height ? b : a));
    s.ladder = s.ladder.filter((r) => r !== costliest);
    s.dropped.push(costliest.name);
    log.warn({ speed: Number(speed.toFixed(2)), minSpeed, dropped: costliest.name, renditions: s.ladder.map((r) => r.name) }, 'transcode falls behind real time: rendition dropped');
    void this.replace(s, log);
  }

  /** Stops the running ffmpeg (so it writes its last segment) and starts the ladder again as it is now. */
  private async replace(s: LiveSession, log: Logger): Promise<void> {
    s.replacing = true;
    try {
      await s.transcode?.stop();
      // the ladder is shorter: folders past its end hold stale playlists; players reload the master playlist
      for (let i = s.ladder.length; i < this.deps.config.hls.renditions.length; i++) rmSync(join(s.launch!.liveDir, String(i)), { recursive: true, force: true });
    } finally {
      s.replacing = false;
    }
    if (!s.ended) this.run(s, log, true);
  }

  /** The running transcodes, for operators and tests. */
  transcodes(): TranscodeInfo[] {
    return [...this.byStream.values()].filter((s) => !s.ended).map((s) => ({
      streamId: s.streamId, sessionId: s.id, pid: s.replacing ? undefined : s.transcode?.pid, renditions: s.ladder.map((r) => r.name), dropped: s.dropped.filter((d) => d !== '*'), restarts: s.restarts.length,
    }));
  }

  private async end(s: LiveSession): Promise<void> {
    if (s.ended) return s.done;
    s.ended = true;
    clearInterval(s.sampler);
    clearInterval(s.viewerTimer);
    const log = this.deps.logger.child({ streamId: s.streamId, sessionId: s.id });
    const endedAt = Date.now();
    log.info('publisher left: session ends');
    await this.deps.streams.changeState(s.streamId, s.id, s.cut ? 'cut' : 'ended', s.cut).catch((err: Error) => log.error({ err: err.message }, 'state not stored'));
    // node-media-server would keep players waiting through its 30 s grace: end them now. Our own ffmpeg
    // pull is one of them, so it reads EOF, writes the last segment, #EXT-X-ENDLIST and the trailers.
    for (const player of this.deps.broadcastOf(s.streamId)?.subscribers.values() ?? []) player.close?.();
    while (s.replacing) await new Promise((r) => setTimeout(r, 20)); // a rendition drop in progress starts no new run now
    if (s.transcode) {
      const code = await s.transcode.stop();
      log.info({ code }, 'transcode stopped');
    }
    if (this.byStream.get(s.streamId) === s) this.byStream.delete(s.streamId);
    if (s.recordFile && s.recordParts.length > 1) await joinParts(this.deps.ffmpegPath(), s.recordFile, s.recordParts.slice(1), log);
    if (s.recordFile) {
      await this.deps.recordings.finalize({ streamId: s.streamId, sessionId: s.id, tsFile: s.recordFile, hasAudio: s.hasAudio, startedAt: s.startedAt, endedAt });
    }
  }

  /** An operator's cut: the publisher is disconnected and viewers see the stream end; the session ends as `cut`. */
  async cut(streamId: string, audit: { actor: string; reason: string }): Promise<boolean> {
    const s = this.byStream.get(streamId);
    if (!s || s.ended) return false;
    s.cut = audit;
    this.deps.logger.warn({ streamId, sessionId: s.id, ...audit }, 'stream cut by an operator');
    s.nms.socket?.destroy();
    s.done ??= this.end(s);
    await s.done;
    return true;
  }

  /**
   * After a crash: streams still marked live get their `ended` event, and recordings left in
   * <media>/rec (named <streamId>.<sessionId>.ts) become VOD assets.
   */
  async recover(): Promise<void> {
    const recDir = join(this.deps.mediaDir, 'rec');
    for (const f of readdirSync(recDir)) {
      const m = /^(st_[0-9a-z]{26})\.(ls_[0-9a-z]{26})\.ts$/.exec(f);
      if (!m || this.live().includes(m[1]!)) continue;
      const file = join(recDir, f);
      const st = statSync(file);
      await this.deps.recordings.finalize({ streamId: m[1]!, sessionId: m[2]!, tsFile: file, hasAudio: true, startedAt: Math.round(st.birthtimeMs || st.ctimeMs), endedAt: Math.round(st.mtimeMs) });
    }
    for (const stream of await this.deps.streams.liveAtStart()) {
      if (!this.live().includes(stream.id)) await this.deps.streams.changeState(stream.id, 'recovered', 'ended');
    }
  }

  /** Shutdown: refuse new publishes, disconnect pushers, stop every ffmpeg (q, SIGINT, SIGKILL) and save the recordings. */
  async close(): Promise<void> {
    this.closing = true;
    const sessions = [...this.byStream.values()];
    await Promise.all(sessions.map(async (s) => {
      s.nms.socket?.destroy();
      s.done ??= this.end(s);
      await s.done;
    }));
  }
}

/**
 * The recording parts of a session whose ffmpeg restarted, joined into the first one with ffmpeg's concat demuxer
 * (stream copy): each pull starts its timestamps afresh, and the demuxer shifts every part to follow the one before.
 * If the join fails the parts stay on disk beside the recording (the log names them): nothing recorded is deleted.
 */
async function joinParts(ffmpegPath: string | undefined, main: string, parts: string[], log: Logger): Promise<void> {
  const files = [main, ...parts].filter((f) => existsSync(f) && statSync(f).size > 0);
  if (!ffmpegPath || files.length < 2) return;
  const list = `${main}.concat.txt`;
  const joined = `${main}.joined.ts`;
  writeFileSync(list, files.map((f) => `file '${f.replaceAll("'", "'\\''")}'`).join('\n') + '\n');
  try {
    await new Promise<void>((resolve, reject) => {
      execFile(ffmpegPath, ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y', '-f', 'concat', '-safe', '0', '-i', list, '-map', '0', '-c', 'copy', '-f', 'mpegts', joined], (err, _out, stderr) =>
        err ? reject(new Error(`${err.message}: ${String(stderr).slice(-300)}`)) : resolve());
    });
    renameSync(joined, main);
    for (const part of parts) rmSync(part, { force: true });
    log.info({ parts: files.length }, 'recording parts joined');
  } catch (err) {
    rmSync(joined, { force: true });
    log.error({ err: (err as Error).message, parts }, 'recording parts could not be joined: the VOD asset holds the first part only; the others stay on disk');
  } finally {
    rmSync(list, { force: true });
  }
}
