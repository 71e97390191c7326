import { join } from 'node:path';

export interface Rendition {
  name: string;
  /** 0 = copy the source video */
  height: number;
  videoKbps: number;
  audioKbps: number;
}

export interface LadderPlan {
  /** the pull URL of the live stream (local RTMP) */
  input: string;
  /** <data.dir>/media/live/<streamId> */
  liveDir: string;
  renditions: Rendition[];
  segmentSeconds: number;
  listSize: number;
  preset: string;
  fps: number;
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

/** Keyframe interval in frames: fps x segment length, so every rendition cuts at the same instants. */
export function gopFrames(fps: number, segmentSeconds: number): number {
  return Math.max(1, Math.round(fps * segmentSeconds));
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

  const gop = gopFrames(plan.fps, plan.segmentSeconds);
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
    '-force_key_frames', `expr:gte(t,n_forced*${plan.segmentSeconds})`,
    '-f', 'hls', '-hls_time', String(plan.segmentSeconds), '-hls_list_size', String(plan.listSize),
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
    inputOptions: ['-hide_banner', '-loglevel', 'warning', '-nostats', '-fflags', '+genpts', '-analyzeduration', '1000000', '-probesize', '500000'],
    complexFilter: filters.join(';'),
    outputs,
  };
}
