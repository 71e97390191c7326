import type { AuthorizePublishHandler, PublishPacket } from 'aedes';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { isInfraError, type Logger, type TokenClaims } from '@infra/core';
import type { ImEvent } from '@infra/core/topics';
import type { ImService } from './service.js';
import { SendRateLimiter } from './rate.js';
import { SyncRequest } from './schema.js';

type Done = Parameters<AuthorizePublishHandler>[2];
const requestCheck = TypeCompiler.Compile(SyncRequest);

/**
 * The im/sync topic handler: the MQTT request/response form of GET /api/v1/im/sync. A device publishes
 * {requestId, since?, limit?}; the page comes back as a `sync` event with the same requestId on the caller's own
 * im/u/{userId} (the only topic a device reads), then the PUBACK. Bad requests get an error event with the
 * requestId. The request itself is consumed, never forwarded. Rate-limited per user like im/send.
 */
export function imSyncHandler(service: ImService, toUser: (userId: string, event: ImEvent) => void, log: Logger) {
  const limiter = new SendRateLimiter(service.settings.sendRate, service.settings.sendBurst);
  return (claims: TokenClaims, clientId: string, packet: PublishPacket, done: Done): void => {
    packet.retain = false;
    let raw: unknown;
    try {
      raw = JSON.parse(packet.payload.toString());
    } catch {
      raw = undefined;
    }
    const requestId = typeof (raw as { requestId?: unknown } | undefined)?.requestId === 'string' ? { requestId: ((raw as { requestId: string }).requestId).slice(0, 64) } : {};
    const refuse = (code: string, message: string): void => {
      toUser(claims.sub, { kind: 'error', code, message, ...requestId });
      done(null);
    };
    if (raw === undefined) return refuse('INFRA_ERR_MALFORMED_JSON', 'im/sync payload is not JSON');
    if (!requestCheck.Check(raw)) {
      const e = requestCheck.Errors(raw).First();
      return refuse('INFRA_ERR_IM_BAD_MESSAGE', `bad im/sync request: ${e ? `${e.path || '/'}: ${e.message}` : 'invalid'}`);
    }
    if (claims.role !== 'service' && claims.role !== 'admin' && !limiter.take(claims.sub)) {
      return refuse('INFRA_ERR_IM_RATE_LIMITED', `more than im.sendRate (${service.settings.sendRate}/s) requests from ${claims.sub}`);
    }
    service.sync(claims, raw.since, raw.limit).then(
      (page) => {
        toUser(claims.sub, { kind: 'sync', requestId: raw.requestId, ...page });
        done(null);
      },
      (err: unknown) => {
        if (isInfraError(err)) return refuse(err.code, err.message);
        log.error({ clientId, err: (err as Error).message }, 'im/sync failed');
        refuse('INFRA_ERR_INTERNAL', 'sync failed');
      },
    );
  };
}
