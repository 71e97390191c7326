import { cellToBoundary, cellToLatLng, getHexagonEdgeLengthAvg, gridDisk, gridRing, latLngToCell, UNITS } from 'h3-js';
import { distanceM } from '@infra/core/topics';

/**
 * A cell's outline, to tell without H3 that a point is still inside it: the edges as half-planes in metres around the
 * centre (an equirectangular projection: over a cell's few hundred metres its error is centimetres, well inside
 * EDGE_MARGIN_M). Near the poles or the antimeridian, or for an outline that is not convex, only the circle inscribed
 * in the cell is used.
 */
interface CellShape {
  cell: string;
  lat: number;
  lng: number;
  /** metres per degree of longitude at the centre */
  kx: number;
  /** per edge: a vertex (x, y) and the inward unit normal (nx, ny) */
  edges: Float64Array | undefined;
  /** the fallback: a circle around the centre certainly inside the cell */
  insideM: number;
}

const M_PER_DEG = (6_371_008.8 * Math.PI) / 180;
/** a point this close to an edge (or closer) is left to H3 */
const EDGE_MARGIN_M = 1;
/**
 * Below the nearest vertex's distance from the centre: the inscribed circle of a hexagon is 0.866 of it, of a
 * pentagon 0.809; 0.75 leaves room for the cells' curvature.
 */
const INSCRIBED = 0.75;

function shapeOf(cell: string): CellShape {
  const [lat, lng] = cellToLatLng(cell);
  const kx = M_PER_DEG * Math.cos((lat * Math.PI) / 180);
  const boundary = cellToBoundary(cell);
  let nearest = Infinity;
  for (const [vLat, vLng] of boundary) nearest = Math.min(nearest, distanceM(lat, lng, vLat, vLng));
  const shape: CellShape = { cell, lat, lng, kx, edges: undefined, insideM: nearest * INSCRIBED };
  if (Math.abs(lat) > 80 || boundary.some(([, vLng]) => Math.abs(vLng - lng) > 1)) return shape;
  const pts = boundary.map(([vLat, vLng]) => [(vLng - lng) * kx, (vLat - lat) * M_PER_DEG] as const);
  const edges = new Float64Array(pts.length * 4);
  for (let i = 0; i < pts.length; i++) {
    const [ax, ay] = pts[i]!;
    const [bx, by] = pts[(i + 1) % pts.length]!;
    const len = Math.hypot(bx - ax, by - ay);
    if (len === 0) return shape;
    let nx = -(by - ay) / len;
    let ny = (bx - ax) / len;
    if (-ax * nx - ay * ny < 0) {
      nx = -nx;
      ny = -ny; // pointing at the centre
    }
    // convex: every vertex on the inner side of every edge (else the half-planes would claim too much)
    for (const [px, py] of pts) if ((px - ax) * nx + (py - ay) * ny < -0.01) return shape;
    edges.set([ax, ay, nx, ny], i * 4);
  }
  shape.edges = edges;
  return shape;
}

/** Whether (lat, lng) is certainly inside the shape's cell. */
function surelyInside(s: CellShape, lat: number, lng: number): boolean {
  const e = s.edges;
  if (!e) return distanceM(s.lat, s.lng, lat, lng) < s.insideM;
  const x = (lng - s.lng) * s.kx;
  const y = (lat - s.lat) * M_PER_DEG;
  for (let k = 0; k < e.length; k += 4) if ((x - e[k]!) * e[k + 2]! + (y - e[k + 1]!) * e[k + 3]! <= EDGE_MARGIN_M) return false;
  return true;
}

/**
 * Riders' last positions bucketed by H3 cell. A move re-indexes only when the cell changes; a search walks
 * rings outward from the query's cell and stops once no unseen cell can hold anything nearer than what it has.
 * A fix that is certainly inside its rider's cell (more than a metre inside its outline) skips H3 altogether: riders
 * send a fix a second, and latLngToCell was the largest cost of ingesting a fix after parsing it (bench:telemetry).
 */
export class RiderIndex {
  private readonly cells = new Map<string, Set<string>>();
  /** outlines of the cells riders are in (dropped with their last rider) */
  private readonly shapes = new Map<string, CellShape>();
  private readonly placed = new Map<string, CellShape>();
  private readonly edgeM: number;

  constructor(private readonly resolution: number) {
    this.edgeM = getHexagonEdgeLengthAvg(resolution, UNITS.m);
  }

  move(id: string, lat: number, lng: number): void {
    const at = this.placed.get(id);
    if (at && surelyInside(at, lat, lng)) return;
    const cell = latLngToCell(lat, lng, this.resolution);
    if (at?.cell === cell) return;
    if (at) this.take(id, at.cell);
    let shape = this.shapes.get(cell);
    if (!shape) this.shapes.set(cell, (shape = shapeOf(cell)));
    this.placed.set(id, shape);
    let set = this.cells.get(cell);
    if (!set) this.cells.set(cell, (set = new Set()));
    set.add(id);
  }

  remove(id: string): void {
    const old = this.placed.get(id);
    if (old) this.take(id, old.cell);
    this.placed.delete(id);
  }

  private take(id: string, cell: string): void {
    const set = this.cells.get(cell);
    set?.delete(id);
    if (set && set.size === 0) {
      this.cells.delete(cell);
      this.shapes.delete(cell);
    }
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

  /** The cell a rider is indexed under. */
  cellOf(id: string): string | undefined {
    return this.placed.get(id)?.cell;
  }

  get size(): number {
    return this.placed.size;
  }
}
