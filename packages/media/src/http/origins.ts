import type { FastifyRequest } from 'fastify';
import type { PublicOrigins } from '../streams/service.js';

/** http.publicUrl when set, else the origin the caller used to reach the gateway. */
export function originsOf(request: FastifyRequest, publicUrl: string, ports: { rtmpPort: number; flvPort: number }): PublicOrigins {
  const http = publicUrl ? publicUrl.replace(/\/+$/, '') : `${request.protocol}://${request.host}`;
  const host = new URL(http).hostname;
  return { http, host, ...ports };
}
