import { InfraError, newId, type TokenClaims } from '@infra/core';
import type { StickerPack } from '@infra/core/topics';
import { FILES_PATH, type FileService, type UploadInput } from './service.js';
import type { FileStore, StickerPackRow, StickerRow } from './store.js';

const iso = (ms: number): string => new Date(ms).toISOString();

function packView(pack: StickerPackRow, stickers: StickerRow[]): StickerPack {
  return {
    id: pack.id,
    name: pack.name,
    createdAt: iso(pack.created_at),
    stickers: stickers.map((s) => ({ id: s.id, ...(s.name !== null ? { name: s.name } : {}), fileId: s.file_id, url: `${FILES_PATH}/${s.file_id}/content` })),
  };
}

/** Sticker packs: backends (admin/service) create packs and upload sticker images; every user lists them and sends stickers by id. */
export class StickerService {
  constructor(private readonly store: FileStore, private readonly files: FileService, private readonly now: () => number = Date.now) {}

  async createPack(caller: TokenClaims, name: string): Promise<StickerPack> {
    const row: StickerPackRow = { id: newId('pack'), name, created_by: caller.sub, created_at: this.now() };
    await this.store.insertPack(row);
    return packView(row, []);
  }

  /** Uploads one image into a pack; the image is public to every authenticated user. */
  async addSticker(caller: TokenClaims, packId: string, input: UploadInput, name?: string): Promise<StickerPack> {
    const pack = await this.store.pack(packId);
    if (!pack) {
      input.stream.resume();
      throw new InfraError('INFRA_ERR_STICKER_NOT_FOUND', `no sticker pack ${packId}`);
    }
    const file = await this.files.upload(caller, { ...input, convId: undefined } as UploadInput, { public: true, kinds: ['image'] });
    await this.store.insertSticker({ id: newId('stk'), pack_id: packId, file_id: file.id, name: name ?? null, created_at: this.now() });
    return this.pack(packId);
  }

  async pack(packId: string): Promise<StickerPack> {
    const pack = await this.store.pack(packId);
    if (!pack) throw new InfraError('INFRA_ERR_STICKER_NOT_FOUND', `no sticker pack ${packId}`);
    return packView(pack, await this.store.stickersOf([packId]));
  }

  async packs(): Promise<StickerPack[]> {
    const packs = await this.store.packs();
    const stickers = await this.store.stickersOf(packs.map((p) => p.id));
    return packs.map((p) => packView(p, stickers.filter((s) => s.pack_id === p.id)));
  }

  /** The sticker side of im/send: {packId, stickerId} must name a sticker; the stored body gets its file and URL. */
  async resolve(body: Record<string, unknown>): Promise<Record<string, unknown>> {
    const packId = String(body['packId']);
    const stickerId = String(body['stickerId']);
    const sticker = await this.store.sticker(packId, stickerId);
    if (!sticker) throw new InfraError('INFRA_ERR_STICKER_NOT_FOUND', `no sticker ${stickerId} in pack ${packId}`);
    return { packId, stickerId, fileId: sticker.file_id, url: `${FILES_PATH}/${sticker.file_id}/content` };
  }
}
