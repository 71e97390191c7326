import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, type Kysely } from '@infra/core';
import { openMediaDb } from '../db.js';
import { locateFfmpeg } from '../ffmpeg/locate.js';
import { AssetStore, type RecordingTables } from './store.js';
import { RecordingService } from './service.js';

const dir = mkdtempSync(join(tmpdir(), 'infra-recordings-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('recordings', () => {
  it('a finished session becomes an MP4 asset with a poster; retention deletes it once it is too old', async () => {
    const ffmpeg = (await locateFfmpeg('')).path;
    const opened = await openMediaDb(dir);
    let now = Date.parse('2026-11-01T00:00:00Z');
    const vodDir = join(dir, 'vod');
    const service = new RecordingService(new AssetStore(opened.db as unknown as Kysely<RecordingTables>), { vodDir, ffmpegPath: () => ffmpeg, logger: createLogger() }, () => now);
    try {
      mkdirSync(join(dir, 'rec'), { recursive: true });
      const ts = join(dir, 'rec', 'a.ts');
      execFileSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'testsrc=size=160x120:rate=10', '-f', 'lavfi', '-i', 'sine', '-t', '1.5', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', '-f', 'mpegts', ts]);
      const asset = await service.finalize({ streamId: 'st_x', sessionId: 'ls_x', tsFile: ts, hasAudio: true, startedAt: now - 1500, endedAt: now });
      expect(asset).toMatchObject({ streamId: 'st_x', url: `/vod/${asset!.id}/index.mp4`, posterUrl: `/vod/${asset!.id}/poster.jpg` });
      expect(asset!.durationMs).toBeGreaterThan(1000);
      expect(asset!.durationMs).toBeLessThan(2000);
      expect(existsSync(ts)).toBe(false);
      expect(await service.finalize({ streamId: 'st_x', sessionId: 'ls_y', tsFile: join(dir, 'rec', 'missing.ts'), hasAudio: true, startedAt: now, endedAt: now })).toBeUndefined();

      now += 86_400_000; // one day later
      expect(await service.sweep(2 * 86_400_000)).toBe(0);
      now += 2 * 86_400_000;
      expect(await service.sweep(2 * 86_400_000)).toBe(1);
      expect(await service.list({})).toEqual([]);
      expect(existsSync(join(vodDir, asset!.id))).toBe(false);
    } finally {
      await opened.close();
    }
  });
});
