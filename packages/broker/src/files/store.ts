import type { Kysely } from 'kysely';
import type { FileKind } from '@infra/core/topics';

export type FileStatus = 'processing' | 'ready' | 'failed';

export interface FileRow {
  id: string;
  uploader_id: string;
  conv_id: string | null;
  kind: FileKind;
  mime: string;
  size: number;
  name: string;
  status: FileStatus;
  public: number;
  width: number | null;
  height: number | null;
  duration_ms: number | null;
  has_thumbnail: number;
  has_audio: number;
  error: string | null;
  created_at: number;
  processed_at: number | null;
}

export interface StickerPackRow {
  id: string;
  name: string;
  created_by: string;
  created_at: number;
}

export interface StickerRow {
  id: string;
  pack_id: string;
  file_id: string;
  name: string | null;
  created_at: number;
}

export interface FileTables {
  files: FileRow;
  file_attachments: { file_id: string; conv_id: string; created_at: number };
  sticker_packs: StickerPackRow;
  stickers: StickerRow;
}

/** What ffmpeg learned about a file; written once, when its processing ends. */
export interface Derived {
  /** the kind ffmpeg found, when the sniffed one was wrong (an MP4 holding only audio is a voice clip, not a video) */
  kind?: FileKind;
  width?: number;
  height?: number;
  durationMs?: number;
  hasThumbnail: boolean;
  hasAudio: boolean;
}

/** SQL for the files module's tables only (files, attachments, sticker packs). Portable SQL. */
export class FileStore {
  constructor(readonly db: Kysely<FileTables>) {}

  /** The same store over another handle of the same database (the IM send transaction). */
  static over(db: unknown): FileStore {
    return new FileStore(db as Kysely<FileTables>);
  }

  async insert(row: FileRow): Promise<void> {
    await this.db.insertInto('files').values(row).execute();
  }

  file(id: string): Promise<FileRow | undefined> {
    return this.db.selectFrom('files').selectAll().where('id', '=', id).executeTakeFirst();
  }

  processing(): Promise<FileRow[]> {
    return this.db.selectFrom('files').selectAll().where('status', '=', 'processing').orderBy('created_at').execute();
  }

  /** processing -> ready/failed, once */
  async finish(id: string, status: 'ready' | 'failed', derived: Derived, error: string | null, now: number): Promise<boolean> {
    const r = await this.db
      .updateTable('files')
      .set({
        status,
        ...(derived.kind ? { kind: derived.kind } : {}),
        width: derived.width ?? null,
        height: derived.height ?? null,
        duration_ms: derived.durationMs ?? null,
        has_thumbnail: derived.hasThumbnail ? 1 : 0,
        has_audio: derived.hasAudio ? 1 : 0,
        error,
        processed_at: now,
      })
      .where('id', '=', id)
      .where('status', '=', 'processing')
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  }

  async attach(fileId: string, convId: string, now: number): Promise<void> {
    await this.db.insertInto('file_attachments').values({ file_id: fileId, conv_id: convId, created_at: now }).onConflict((oc) => oc.doNothing()).execute();
  }

  async attachedTo(fileId: string): Promise<string[]> {
    const rows = await this.db.selectFrom('file_attachments').select('conv_id').where('file_id', '=', fileId).execute();
    return rows.map((r) => r.conv_id);
  }

  async insertPack(row: StickerPackRow): Promise<void> {
    await this.db.insertInto('sticker_packs').values(row).execute();
  }

  pack(id: string): Promise<StickerPackRow | undefined> {
    return this.db.selectFrom('sticker_packs').selectAll().where('id', '=', id).executeTakeFirst();
  }

  packs(): Promise<StickerPackRow[]> {
    return this.db.selectFrom('sticker_packs').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async insertSticker(row: StickerRow): Promise<void> {
    await this.db.insertInto('stickers').values(row).execute();
  }

  sticker(packId: string, stickerId: string): Promise<StickerRow | undefined> {
    return this.db.selectFrom('stickers').selectAll().where('pack_id', '=', packId).where('id', '=', stickerId).executeTakeFirst();
  }

  stickersOf(packIds: readonly string[]): Promise<StickerRow[]> {
    if (packIds.length === 0) return Promise.resolve([]);
    return this.db.selectFrom('stickers').selectAll().where('pack_id', 'in', packIds).orderBy('created_at').orderBy('id').execute();
  }
}
