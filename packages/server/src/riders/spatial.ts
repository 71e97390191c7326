import { getHexagonEdgeLengthAvg, gridDisk, gridRing, latLngToCell, UNITS } from 'h3-js';
import { distanceM } from '@infra/core/topics';

/**
 * Riders' last positions bucketed by H3 cell. A move re-indexes only when the cell changes; a search walks
 * rings outward from the query's cell and stops once no unseen cell can hold anything nearer than what it has.
 */
export class RiderIndex {
  private readonly cells = new Map<string, Set<string>>();
  private readonly cellOf = new Map<string, string>();
  private readonly edgeM: number;

  constructor(private readonly resolution: number) {
    this.edgeM = getHexagonEdgeLengthAvg(resolution, UNITS.m);
  }

  move(id: string, lat: number, lng: number): void {
    const cell = latLngToCell(lat, lng, this.resolution);
    const old = this.cellOf.get(id);
    if (old === cell) return;
    if (old) this.take(id, old);
    this.cellOf.set(id, cell);
    let set = this.cells.get(cell);
    if (!set) this.cells.set(cell, (set = new Set()));
    set.add(id);
  }

  remove(id: string): void {
    const old = this.cellOf.get(id);
    if (old) this.take(id, old);
    this.cellOf.delete(id);
  }

  private take(id: string, cell: string): void {
    const set = this.cells.get(cell);
    set?.delete(id);
    if (set && set.size === 0) this.cells.delete(cell);
  }

  /**
   * The nearest `limit` riders within radiusM that `position` accepts (it returns their lat/lng, or undefined to skip),
   * nearest first. Cells of ring k are at least (1.5k - 2) edges away from any point of the centre cell; 0.8 covers
   * H3's size variation across the globe.
   */
  near(lat: number, lng: number, radiusM: number, limit: number, position: (id: string) => { lat: number; lng: number } | undefined): { id: string; distanceM: number }[] {
    const centre = latLngToCell(lat, lng, this.resolution);
    const found: { id: string; distanceM: number }[] = [];
    const seen = new Set<string>();
    const reach = (k: number): number => Math.max(0, (1.5 * k - 2) * this.edgeM * 0.8);
    const maxK = Math.min(400, Math.ceil((radiusM / (this.edgeM * 0.8) + 2) / 1.5) + 1);
    for (let k = 0; k <= maxK; k++) {
      let ring: string[];
      try {
        ring = k === 0 ? [centre] : gridRing(centre, k);
      } catch {
        ring = k === 0 ? [centre] : gridDisk(centre, k); // near a pentagon: the disk is always defined (repeats are skipped below)
      }
      for (const cell of ring) {
        const ids = this.cells.get(cell);
        if (!ids) continue;
        for (const id of ids) {
          if (seen.has(id)) continue;
          seen.add(id);
          const p = position(id);
          if (!p) continue;
          const d = distanceM(lat, lng, p.lat, p.lng);
          if (d <= radiusM) found.push({ id, distanceM: d });
        }
      }
      if (found.length >= limit) {
        found.sort((a, b) => a.distanceM - b.distanceM);
        if (found[limit - 1]!.distanceM <= reach(k + 1)) break;
      }
      if (reach(k + 1) > radiusM) break;
    }
    found.sort((a, b) => a.distanceM - b.distanceM);
    return found.slice(0, limit);
  }

  get size(): number {
    return this.cellOf.size;
  }
}
