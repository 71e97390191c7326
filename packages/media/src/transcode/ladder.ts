import { join } from 'node:path';

export interface Rendition {
  name: string;
  /** 0 = copy the source video */
  height: number;
  videoKbps: number;
  audioKbps: number;
}

export interface LadderPlan {
  /** what ffmpeg reads: `pipe:0` (the live FLV fed on stdin) or a file */
  input: string;
  /** demuxer of the input (`flv` for the fed live stream); undefined = probe */
  inputFormat?: string;
  /** <data.dir>/media/live/<streamId> */
  liveDir: string;
  renditions: Rendition[];
  segmentSeconds: number;
  /** length of the first segments (hls_init_time), so the first one is ready sooner; 0 = segmentSeconds */
  firstSegmentSeconds?: number;
  listSize: number;
  preset: string;
  fps: number;
  /** the input declares its frame rate (FLV onMetaData): ffmpeg need not measure it (about a second of live input) */
  fpsDeclared?: boolean;
  hasAudio: boolean;
  coverSeconds: number;
  /** MPEG-TS copy of the source, remuxed to MP4 when the session ends; undefined = no recording */
  recordFile?: string;
  /** a restart within the same session: append to the existing playlists (numbering goes on) after a discontinuity */
  resume?: boolean;
}

export interface FfmpegOutput {
  file: string;
  options: string[];
}

export interface FfmpegJob {
  inputOptions: string[];
  complexFilter: string;
  outputs: FfmpegOutput[];
}

/** Keyframe interval in frames: fps x keyframe seconds, so every rendition cuts at the same instants. */
export function gopFrames(fps: number, keyframeSeconds: number): number {
  return Math.max(1, Math.round(fps * keyframeSeconds));
}

/**
 * Seconds between forced keyframes: the largest step (in half seconds) that divides both the first-segment length
 * and the segment length, so that every cut the HLS muxer wants, short first segments or long ones, falls on a
 * keyframe that every rendition has at the same instant (whatever ffmpeg version decides how many segments are short).
 */
export function keyframeSeconds(segmentSeconds: number, firstSegmentSeconds = 0): number {
  if (!(firstSegmentSeconds > 0) || firstSegmentSeconds >= segmentSeconds) return segmentSeconds;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  return Math.max(1, gcd(Math.round(segmentSeconds * 2), Math.round(firstSegmentSeconds * 2))) / 2;
}

/**
 * One ffmpeg per live session: decode once, then the HLS ladder (one hls muxer, master playlist,
 * var_stream_map), the cover image and the recording, as outputs of the same process.
 * Works with FFmpeg 4.1 (no `name:` in var_stream_map, so rendition folders are 0, 1, 2 …).
 */
export function buildLadderJob(plan: LadderPlan): FfmpegJob {
  const encoded = plan.renditions.map((r, i) => ({ r, i })).filter((x) => x.r.height > 0);
  const branches = encoded.length + 1; // + the cover branch
  const filters: string[] = [`[0:v]split=${branches}${Array.from({ length: branches }, (_, k) => `[s${k}]`).join('')}`];
  encoded.forEach(({ r, i }, k) => filters.push(`[s${k}]scale=-2:'min(ih,${r.height})',format=yuv420p[v${i}]`));
  filters.push(`[s${encoded.length}]fps=1/${plan.coverSeconds},scale=-2:'min(ih,360)'[cover]`);

  const keyframeEvery = keyframeSeconds(plan.segmentSeconds, plan.firstSegmentSeconds);
  const gop = gopFrames(plan.fps, keyframeEvery);
  const firstSegment = keyframeEvery < plan.segmentSeconds ? ['-hls_init_time', String(plan.firstSegmentSeconds)] : [];
  const hls: string[] = [];
  const streamMap: string[] = [];
  plan.renditions.forEach((r, i) => {
    hls.push('-map', r.height > 0 ? `[v${i}]` : '0:v');
    if (plan.hasAudio) hls.push('-map', '0:a');
    if (r.height > 0) {
      hls.push(`-c:v:${i}`, 'libx264');
      if (r.videoKbps > 0) hls.push(`-b:v:${i}`, `${r.videoKbps}k`, `-maxrate:v:${i}`, `${Math.round(r.videoKbps * 1.1)}k`, `-bufsize:v:${i}`, `${r.videoKbps * 2}k`);
      else hls.push(`-crf:v:${i}`, '23');
    } else {
      hls.push(`-c:v:${i}`, 'copy');
    }
    if (plan.hasAudio) hls.push(`-c:a:${i}`, 'aac', `-b:a:${i}`, `${r.audioKbps}k`);
    streamMap.push(plan.hasAudio ? `v:${i},a:${i}` : `v:${i}`);
  });
  hls.push(
    '-preset', plan.preset, '-tune', 'zerolatency', '-profile:v', 'main',
    '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
    '-force_key_frames', `expr:gte(t,n_forced*${keyframeEvery})`,
    '-f', 'hls', '-hls_time', String(plan.segmentSeconds), ...firstSegment, '-hls_list_size', String(plan.listSize),
    '-hls_flags', `delete_segments+independent_segments${plan.resume ? '+append_list+discont_start' : ''}`,
    '-master_pl_name', 'master.m3u8', '-var_stream_map', streamMap.join(' '),
    '-hls_segment_filename', join(plan.liveDir, '%v', 'seg_%05d.ts'),
  );

  const outputs: FfmpegOutput[] = [
    { file: join(plan.liveDir, '%v', 'index.m3u8'), options: hls },
    { file: join(plan.liveDir, 'cover.jpg'), options: ['-map', '[cover]', '-f', 'image2', '-update', '1', '-q:v', '5'] },
  ];
  if (plan.recordFile) {
    outputs.push({ file: plan.recordFile, options: ['-map', '0:v', ...(plan.hasAudio ? ['-map', '0:a'] : []), '-c', 'copy', '-f', 'mpegts'] });
  }
  return {
    // The fed FLV carries its codec headers first, and its frame rate in onMetaData: without -fpsprobesize 0, ffmpeg
    // still reads ~20 frames to measure the rate, which a live input delivers in real time (measured: 1 s of the
    // 2.1 s to the first segment). With it, the stream is the same (30 fps, 30 tbr) and probing ends in ~0.1 s.
    inputOptions: ['-hide_banner', '-loglevel', 'warning', '-nostats', '-fflags', '+genpts', '-analyzeduration', '1000000', '-probesize', '500000',
      ...(plan.fpsDeclared ? ['-fpsprobesize', '0'] : []), ...(plan.inputFormat ? ['-f', plan.inputFormat] : [])],
    complexFilter: filters.join(';'),
    outputs,
  };
}
