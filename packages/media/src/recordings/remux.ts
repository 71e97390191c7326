import ffmpeg from 'fluent-ffmpeg';

export interface RemuxResult {
  durationMs: number;
}

function parseClock(s: string | undefined): number {
  const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(s ?? '');
  return m ? Math.round((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000) : 0;
}

/**
 * The session's MPEG-TS as an MP4 with faststart (moov first, plays before it is fully downloaded) by stream copy,
 * then a poster from the first frame. Two ffmpeg runs, not one with two outputs: with both, ffmpeg decodes the whole
 * recording for the one poster frame (measured: 0.8 CPU s per 10 s of 720p, minutes for a long stream), alone it
 * stops after the first frame. No ffprobe (FFmpeg 4.1 bundle): the duration comes from ffmpeg's own input report,
 * else the last progress time. A poster that fails leaves the asset without one.
 */
export async function remuxRecording(ffmpegPath: string, tsFile: string, mp4File: string, posterFile: string, hasAudio: boolean): Promise<RemuxResult> {
  const result = await new Promise<RemuxResult>((resolve, reject) => {
    let duration = 0;
    let progress = 0;
    ffmpeg()
      .setFfmpegPath(ffmpegPath)
      .input(tsFile)
      .inputOptions('-hide_banner', '-nostdin')
      .output(mp4File)
      .outputOptions('-map', '0:v', ...(hasAudio ? ['-map', '0:a?', '-bsf:a', 'aac_adtstoasc'] : []), '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4')
      .on('codecData', (d: { duration?: string }) => (duration = parseClock(d.duration)))
      .on('progress', (p: { timemark?: string }) => (progress = Math.max(progress, parseClock(p.timemark))))
      .on('error', (err: Error) => reject(err))
      .on('end', () => resolve({ durationMs: duration || progress }))
      .run();
  });
  await new Promise<void>((resolve) => {
    ffmpeg()
      .setFfmpegPath(ffmpegPath)
      .input(tsFile)
      .inputOptions('-hide_banner', '-nostdin')
      .output(posterFile)
      .outputOptions('-map', '0:v', '-frames:v', '1', '-vf', "scale=-2:'min(ih,720)'", '-q:v', '4', '-f', 'image2')
      .on('error', () => resolve())
      .on('end', () => resolve())
      .run();
  });
  return result;
}
