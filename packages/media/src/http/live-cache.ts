import { readFileSync, statSync } from 'node:fs';

export interface CachedFile {
  body: Buffer;
  /** `"<size hex>-<mtime ms hex>"`: changes whenever ffmpeg rewrites the file (playlists) or a session reuses a name */
  etag: string;
  lastModified: string;
}

/**
 * Live HLS files in memory, keyed by path and checked against the file's mtime and size on every request (one stat,
 * no open or read): segments never change once ffmpeg renamed them into place, playlists are replaced (renamed) once
 * per segment, so a hit is the common case and a changed file is read again. Least recently used files go first
 * beyond `maxBytes`; files above `maxFileBytes` are not kept (the caller streams them from disk).
 */
export class LiveFileCache {
  private readonly entries = new Map<string, CachedFile & { mtimeMs: number; size: number }>();
  private bytes = 0;

  constructor(private readonly maxBytes = 64 * 1024 * 1024, private readonly maxFileBytes = 8 * 1024 * 1024) {}

  /** The file as it is on disk now; undefined when it does not exist; 'large' when it is not kept in memory. */
  get(path: string): CachedFile | 'large' | undefined {
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st?.isFile()) {
      this.drop(path);
      return undefined;
    }
    const hit = this.entries.get(path);
    if (hit && hit.mtimeMs === st.mtimeMs && hit.size === st.size) {
      this.entries.delete(path); // most recently used last
      this.entries.set(path, hit);
      return hit;
    }
    this.drop(path);
    if (st.size > this.maxFileBytes) return 'large';
    let body: Buffer;
    try {
      body = readFileSync(path);
    } catch {
      return undefined; // deleted between stat and read (delete_segments)
    }
    const entry = { body, mtimeMs: st.mtimeMs, size: st.size, etag: `"${st.size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`, lastModified: new Date(st.mtimeMs).toUTCString() };
    // a file that grew while it was read is served as read, but not kept under the older stat
    if (body.length !== st.size) return entry;
    this.entries.set(path, entry);
    this.bytes += body.length;
    for (const [k, v] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(k);
      this.bytes -= v.body.length;
    }
    return entry;
  }

  get size(): { files: number; bytes: number } {
    return { files: this.entries.size, bytes: this.bytes };
  }

  private drop(path: string): void {
    const old = this.entries.get(path);
    if (!old) return;
    this.entries.delete(path);
    this.bytes -= old.body.length;
  }
}
