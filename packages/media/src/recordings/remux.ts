import ffmpeg from 'fluent-ffmpeg';

export interface RemuxResult {
  durationMs: number;
}

function parseClock(s: string | undefined): number {
  const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(s ?? '');
  return m ? Math.round((Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3])) * 1000) : 0;
}

/**
 * One pass over the session's MPEG-TS: an MP4 with faststart (moov first, plays before it is fully
 * downloaded) by stream copy, and a poster from the first frame. No ffprobe (FFmpeg 4.1 bundle):
 * the duration comes from ffmpeg's own input report, else the last progress time.
 */
export function remuxRecording(ffmpegPath: string, tsFile: string, mp4File: string, posterFile: string, hasAudio: boolean): Promise<RemuxResult> {
  return new Promise((resolve, reject) => {
    let duration = 0;
    let progress = 0;
    ffmpeg({ stdoutLines: 0 })
      .setFfmpegPath(ffmpegPath)
      .input(tsFile)
      .inputOptions('-hide_banner', '-nostdin')
      .output(mp4File)
      .outputOptions('-map', '0:v', ...(hasAudio ? ['-map', '0:a?', '-bsf:a', 'aac_adtstoasc'] : []), '-c', 'copy', '-movflags', '+faststart', '-f', 'mp4')
      .output(posterFile)
      .outputOptions('-map', '0:v', '-frames:v', '1', '-vf', "scale=-2:'min(ih,720)'", '-q:v', '4', '-f', 'image2')
      .on('codecData', (d: { duration?: string }) => (duration = parseClock(d.duration)))
      .on('progress', (p: { timemark?: string }) => (progress = Math.max(progress, parseClock(p.timemark))))
      .on('error', (err: Error) => reject(err))
      .on('end', () => resolve({ durationMs: duration || progress }))
      .run();
  });
}
