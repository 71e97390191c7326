import { afterAll, describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { locateFfmpeg } from '../ffmpeg/locate.js';
import { buildLadderJob, keyframeSeconds } from './ladder.js';

const dir = mkdtempSync(join(tmpdir(), 'infra-ladder-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('HLS ladder command', () => {
  it('keyframes fall on every cut the muxer may want: the step divides both segment lengths', () => {
    expect(keyframeSeconds(2, 1)).toBe(1);
    expect(keyframeSeconds(2, 0)).toBe(2);
    expect(keyframeSeconds(2, 2)).toBe(2);
    expect(keyframeSeconds(3, 2)).toBe(1);
    expect(keyframeSeconds(3, 1.5)).toBe(1.5);
    expect(keyframeSeconds(4, 2.5)).toBe(0.5);
  });

  it('with short first segments, the first segments are short and every rendition cuts on the same frames (real ffmpeg)', async () => {
    const ffmpeg = (await locateFfmpeg('')).path;
    const source = join(dir, 'source.ts');
    await promisify(execFile)(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=320x240:rate=15', '-f', 'lavfi', '-i', 'sine=sample_rate=44100',
      '-t', '14', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '30', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', source]);
    const liveDir = join(dir, 'live');
    const renditions = [{ name: 'a', height: 180, videoKbps: 200, audioKbps: 64 }, { name: 'b', height: 120, videoKbps: 100, audioKbps: 48 }];
    renditions.forEach((_, i) => mkdirSync(join(liveDir, String(i)), { recursive: true }));
    const job = buildLadderJob({ input: source, liveDir, renditions, segmentSeconds: 2, firstSegmentSeconds: 1, listSize: 3, preset: 'ultrafast', fps: 15, hasAudio: true, coverSeconds: 5 });
    // keep every segment on disk (a live ladder deletes those that left the playlist) to look at all of them
    const outputs = job.outputs.map((o) => ({ ...o, options: o.options.map((v) => v.replace('delete_segments+', '')) }));
    await promisify(execFile)(ffmpeg, [...job.inputOptions, '-i', source, '-filter_complex', job.complexFilter, ...outputs.flatMap((o) => [...o.options, o.file])]);
    const segments = renditions.map((_, i) => readdirSync(join(liveDir, String(i))).filter((f) => f.endsWith('.ts')).sort());
    // 14 s in 2 s segments would be 7: the first ones (about a playlist of them, per ffmpeg's hls_init_time) are 1 s
    expect(segments[0]!.length).toBeGreaterThanOrEqual(9);
    expect(segments[1]).toEqual(segments[0]);
    const durationOf = async (file: string): Promise<number> => {
      const { stderr } = await promisify(execFile)(ffmpeg, ['-hide_banner', '-i', file]).catch((e: { stderr: string }) => e); // no output: exits 1
      const m = /Duration: (\d+):(\d+):([\d.]+)/.exec(stderr)!;
      return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
    };
    for (const i of [0, 1]) expect(await durationOf(join(liveDir, String(i), segments[0]![0]!))).toBeCloseTo(1, 1);
    // the playlists (the last segments) agree to the frame across renditions, and are full length
    const extinf = renditions.map((_, i) => [...readFileSync(join(liveDir, String(i), 'index.m3u8'), 'utf8').matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1])));
    expect(extinf[1]).toEqual(extinf[0]);
    expect(extinf[0]![0]).toBeCloseTo(2, 1);
  });
});
