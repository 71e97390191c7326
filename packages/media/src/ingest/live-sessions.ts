import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { newId, type InfraConfig, type Logger } from '@infra/core';
import type { NmsSession } from './nms.js';
import type { StreamService } from '../streams/service.js';
import type { RecordingService } from '../recordings/service.js';
import { buildLadderJob } from '../transcode/ladder.js';
import { joinParts, leftoverRecordings } from '../recordings/parts.js';
import { runFfmpeg, type FfmpegRun } from '../transcode/process.js';
import { feedFlv, type FeedableBroadcast } from '../transcode/feed.js';
import { LadderGovernor } from '../transcode/governor.js';
import { batchReads } from './read-batching.js';

/** A publish's first seconds are read as they arrive (first FLV keyframe, first HLS segments); then in batches. */
export const READ_BATCH_AFTER_MS = 3000;

/** What node-media-server's broadcast holds once the pusher sent its codec headers, and how to subscribe to it. */
export interface BroadcastHeaders extends FeedableBroadcast {
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
  /** which renditions the ladder encodes now: drops those that cannot keep up, tries them again after a while */
  governor: LadderGovernor;
  /** when ffmpeg was restarted after a crash (the last minute counts against media.hls.maxRestarts) */
  restarts: number[];
  /** set while a deliberate restart (dropping a rendition) replaces the running ffmpeg */
  replacing?: boolean;
  recordFile?: string;
  /** the recording of each ffmpeg run (a restart starts a new part); joined when the session ends */
  recordParts: string[];
  launch?: LaunchPlan;
  sampler?: NodeJS.Timeout;
  viewerTimer?: NodeJS.Timeout;
  lastViewers?: string;
  /** resolves when the session is fully wound down (ffmpeg gone, VOD saved) */
  done?: Promise<void>;
}

/** What every ffmpeg run of one session shares. */
interface LaunchPlan {
  ffmpegPath: string;
  liveDir: string;
  fps: number;
  fpsDeclared: boolean;
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
    log.debug({ streamId: session.streamName, ip: session.ip }, 'publish requested');
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
        // once the first seconds are through as they arrive, read the push in batches (fewer wakeups, same bytes)
        batchReads(socket, this.deps.config.rtmp.readBatchMs, READ_BATCH_AFTER_MS);
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
      governor: new LadderGovernor([...this.deps.config.hls.renditions], () => this.deps.config.hls), restarts: [], recordParts: [],
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
    let flv = 0; // HTTP-FLV, WS-FLV and RTMP players, not our ffmpeg's feed (an internal session: no ip)
    for (const p of this.deps.broadcastOf(s.streamId)?.subscribers.values() ?? []) if ((p as NmsSession).ip !== '') flv++;
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
    const fpsDeclared = Boolean(s.nms.videoFramerate && s.nms.videoFramerate > 0 && s.nms.videoFramerate <= 120);
    const fps = fpsDeclared ? s.nms.videoFramerate! : 30;
    s.launch = { ffmpegPath, liveDir, fps, fpsDeclared };
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
    const ladder = s.governor.ladder;
    ladder.forEach((_, i) => mkdirSync(join(plan.liveDir, String(i)), { recursive: true })); // a restored rendition's folder
    const job = buildLadderJob({
      input: 'pipe:0', inputFormat: 'flv', liveDir: plan.liveDir, renditions: ladder, segmentSeconds: hls.segmentSeconds, firstSegmentSeconds: resume ? 0 : hls.firstSegmentSeconds, listSize: hls.listSize,
      preset: hls.preset, fps: plan.fps, fpsDeclared: plan.fpsDeclared, hasAudio: s.hasAudio, coverSeconds, resume, ...(part ? { recordFile: part } : {}),
    });
    s.governor.runStarted();
    const run = runFfmpeg(plan.ffmpegPath, 'pipe:0', job, log, hls.minSpeed > 0 ? (out) => this.watchSpeed(s, out, log) : undefined);
    s.transcode = run;
    // ffmpeg reads the stream from stdin, fed from the ingest's own buffers (no RTMP pull, no handshake)
    void run.spawned.then((stdin) => {
      const broadcast = this.deps.broadcastOf(s.streamId);
      if (!stdin) return;
      if (s.ended || s.transcode !== run || !broadcast) return void stdin.end();
      const feed = feedFlv(broadcast, s.nms.streamPath, stdin, () => {
        log.error({ pid: run.pid }, 'ffmpeg stopped reading its input: killing it');
        void run.stop(0);
      });
      void run.exited.then(() => feed.close());
      log.debug({ pid: run.pid }, 'ladder input attached');
    });
    void run.exited.then((code) => {
      if (s.ended || s.replacing || s.transcode !== run) return;
      this.restartAfterCrash(s, code, log);
    });
    log.info({ renditions: ladder.map((r) => r.name), fps: plan.fps, hasAudio: s.hasAudio, pid: run.pid, resume }, resume ? 'transcode restarted' : 'transcode started');
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

  /** Each progress report of the running ffmpeg: the governor may drop a rendition that cannot keep up, or restore one. */
  private watchSpeed(s: LiveSession, outUs: number, log: Logger): void {
    if (s.ended || s.replacing) return;
    const change = s.governor.progress(outUs);
    if (!change) return;
    const renditions = s.governor.ladder.map((r) => r.name);
    if (change.kind === 'stuck') return void log.warn({ speed: change.speed, renditions }, 'transcode falls behind real time with nothing left to drop');
    if (change.kind === 'drop') log.warn({ speed: change.speed, minSpeed: this.deps.config.hls.minSpeed, dropped: change.rendition.name, renditions }, 'transcode falls behind real time: rendition dropped');
    else log.info({ speed: change.speed, keptUpMs: change.waitedMs, restored: change.rendition.name, renditions }, 'transcode kept up with real time: dropped rendition restored');
    void this.replace(s, log);
  }

  /** Stops the running ffmpeg (so it writes its last segment) and starts the ladder again as it is now. */
  private async replace(s: LiveSession, log: Logger): Promise<void> {
    s.replacing = true;
    try {
      await s.transcode?.stop();
      // the ladder is shorter: folders past its end hold stale playlists; players reload the master playlist
      for (let i = s.governor.ladder.length; i < this.deps.config.hls.renditions.length; i++) rmSync(join(s.launch!.liveDir, String(i)), { recursive: true, force: true });
    } finally {
      s.replacing = false;
    }
    if (!s.ended) this.run(s, log, true);
  }

  /** The running transcodes, for operators and tests. */
  transcodes(): TranscodeInfo[] {
    return [...this.byStream.values()].filter((s) => !s.ended).map((s) => ({
      streamId: s.streamId, sessionId: s.id, pid: s.replacing ? undefined : s.transcode?.pid, renditions: s.governor.ladder.map((r) => r.name), dropped: s.governor.dropped.map((r) => r.name), restarts: s.restarts.length,
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
    // node-media-server would keep players waiting through its 30 s grace: end them now. Our ladder's feed
    // is one of them: its stdin closes, so ffmpeg reads EOF, writes the last segment, #EXT-X-ENDLIST and the trailers.
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
   * After a crash: streams still marked live get their `ended` event, and recordings left in <media>/rec become VOD
   * assets: <streamId>.<sessionId>.ts and the parts later ffmpeg runs of that session wrote (`.ts.part1`, `.part2` …),
   * joined in order as at a normal end. A join the crash interrupted is started over.
   */
  async recover(): Promise<void> {
    for (const left of leftoverRecordings(join(this.deps.mediaDir, 'rec'), new Set(this.live()))) {
      const log = this.deps.logger.child({ streamId: left.streamId, sessionId: left.sessionId });
      if (left.parts.length > 0) await joinParts(this.deps.ffmpegPath(), left.tsFile, left.parts, log);
      log.info({ parts: left.parts.length + 1 }, 'recording of a session the previous run did not finish: saving it');
      await this.deps.recordings.finalize({ streamId: left.streamId, sessionId: left.sessionId, tsFile: left.tsFile, hasAudio: true, startedAt: left.startedAt, endedAt: left.endedAt });
    }
    for (const stream of await this.deps.streams.liveAtStart()) {
      if (!this.live().includes(stream.id)) await this.deps.streams.changeState(stream.id, 'recovered', 'ended');
    }
  }

  /** Shutdown: refuse new publishes, disconnect pushers, stop every ffmpeg (end of input, SIGINT, SIGKILL) and save the recordings. */
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
