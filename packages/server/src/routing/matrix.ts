import { InfraError } from '@infra/core/errors';
import { UNREACHABLE } from './problem.js';

export interface LatLng {
  lat: number;
  lng: number;
}

/** Travel between every pair of locations, row-major (k*k): seconds and metres. */
export interface TravelMatrix {
  source: 'haversine' | 'osrm';
  durations: Float64Array;
  distances: Float64Array;
}

const EARTH_M = 6371008.8;

export function haversineM(a: LatLng, b: LatLng): number {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLng = (b.lng - a.lng) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLng / 2) ** 2;
  return 2 * EARTH_M * Math.asin(Math.min(1, Math.sqrt(h)));
}

/** Straight-line distance stretched by a detour factor, driven at a constant speed. */
export function haversineMatrix(points: readonly LatLng[], speedMps: number, detourFactor: number): TravelMatrix {
  const k = points.length;
  const durations = new Float64Array(k * k);
  const distances = new Float64Array(k * k);
  for (let i = 0; i < k; i++) {
    for (let j = i + 1; j < k; j++) {
      const m = haversineM(points[i]!, points[j]!) * detourFactor;
      distances[i * k + j] = distances[j * k + i] = m;
      durations[i * k + j] = durations[j * k + i] = m / speedMps;
    }
  }
  return { source: 'haversine', durations, distances };
}


/**
 * Asks an OSRM-compatible server for the table of all pairs: GET {base}/table/v1/driving/{lng,lat;...}
 * ?annotations=duration,distance. Answers `{ code: "Ok", durations: number[][], distances?: number[][] }`;
 * null entries (no route) become a prohibitive time. Any other answer is INFRA_ERR_DISPATCH_MATRIX.
 */
export async function osrmMatrix(baseUrl: string, points: readonly LatLng[], timeoutMs: number): Promise<TravelMatrix> {
  const k = points.length;
  const coords = points.map((p) => `${p.lng.toFixed(6)},${p.lat.toFixed(6)}`).join(';');
  const url = `${baseUrl.replace(/\/+$/, '')}/table/v1/driving/${coords}?annotations=duration,distance`;
  let body: unknown;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await res.text();
    if (!res.ok) throw new Error(`HTTP ${res.status}: ${text.slice(0, 200)}`);
    body = JSON.parse(text);
  } catch (err) {
    throw new InfraError('INFRA_ERR_DISPATCH_MATRIX', `OSRM table at ${baseUrl} failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  const table = body as { code?: unknown; durations?: unknown; distances?: unknown; message?: unknown };
  if (table.code !== 'Ok') throw new InfraError('INFRA_ERR_DISPATCH_MATRIX', `OSRM table at ${baseUrl} answered code ${JSON.stringify(table.code)}${typeof table.message === 'string' ? `: ${table.message}` : ''}`);
  const read = (rows: unknown, what: string, required: boolean): Float64Array | undefined => {
    if (rows === undefined && !required) return undefined;
    if (!Array.isArray(rows) || rows.length !== k) throw new InfraError('INFRA_ERR_DISPATCH_MATRIX', `OSRM table at ${baseUrl}: ${what} is not a ${k}x${k} array`);
    const out = new Float64Array(k * k);
    rows.forEach((row, i) => {
      if (!Array.isArray(row) || row.length !== k) throw new InfraError('INFRA_ERR_DISPATCH_MATRIX', `OSRM table at ${baseUrl}: ${what} row ${i} is not ${k} long`);
      row.forEach((v, j) => {
        if (v === null) out[i * k + j] = i === j ? 0 : UNREACHABLE;
        else if (typeof v === 'number' && Number.isFinite(v) && v >= 0) out[i * k + j] = v;
        else throw new InfraError('INFRA_ERR_DISPATCH_MATRIX', `OSRM table at ${baseUrl}: ${what}[${i}][${j}] is ${JSON.stringify(v)}`);
      });
    });
    return out;
  };
  const durations = read(table.durations, 'durations', true)!;
  const distances = read(table.distances, 'distances', false) ?? Float64Array.from(durations, () => 0);
  return { source: 'osrm', durations, distances };
}
