import { errorCatalogue, InfraError, loadConfig, TokenIssuer, type ErrorCode } from '@infra/core';
import { readStates } from '../stack/state.js';

export interface CreatedStream {
  id: string;
  key: string;
  rtmpUrl: string;
  hlsUrl: string;
  flvUrl: string;
}

/**
 * `infra stream create`: asks the running stack's gateway (POST /api/v1/media/streams) with a
 * one-minute service token minted from the stack's .env. Going through the API, not media.db, means
 * one writer and one validation path, and the URLs carry the ports the stack really bound (port 0).
 */
export async function createStream(opts: { dir: string; set: string[]; name: string; ttl?: string; fetchImpl?: typeof fetch }): Promise<CreatedStream> {
  const loaded = loadConfig({ dir: opts.dir, set: opts.set, requireSecrets: true });
  const api = readStates(loaded.dataDir)
    .flatMap((s) => s.services.includes('media') ? (s.endpoints['server'] ?? []) : [])
    .find((e) => e.name === 'api');
  if (!api) throw new InfraError('INFRA_ERR_NOT_RUNNING', `no running stack with the gateway and media in ${loaded.dir}`);
  const token = await new TokenIssuer(loaded.secrets!.jwtSecret).sign('infra-cli', 'service', 60);
  const res = await (opts.fetchImpl ?? fetch)(`${api.url}/media/streams`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: opts.name, ...(opts.ttl ? { ttl: opts.ttl } : {}) }),
  }).catch((err: Error) => {
    throw new InfraError('INFRA_ERR_NOT_RUNNING', `the gateway at ${api.url} did not answer: ${err.message}`);
  });
  const body = (await res.json().catch(() => ({}))) as Record<string, unknown>;
  if (res.status !== 201) {
    const type = String(body['type'] ?? '');
    const code = (type in errorCatalogue ? type : 'INFRA_ERR_INTERNAL') as ErrorCode;
    throw new InfraError(code, String(body['detail'] ?? `POST /media/streams answered ${res.status}`));
  }
  const { id, key, rtmpUrl, hlsUrl, flvUrl } = body as unknown as CreatedStream;
  return { id, key, rtmpUrl, hlsUrl, flvUrl };
}
