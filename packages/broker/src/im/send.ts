import type { AuthorizePublishHandler, PublishPacket } from 'aedes';
import { isInfraError, type Logger, type TokenClaims } from '@infra/core';
import type { ImEvent } from '@infra/core/topics';
import type { ImService } from './service.js';
import { SendRateLimiter } from './rate.js';

type Done = Parameters<AuthorizePublishHandler>[2];

/** the ids an error event echoes, so the device can match it to its send */
function idsOf(raw: unknown): { clientMsgId?: string; convId?: string } {
  const ids = typeof raw === 'object' && raw !== null ? (raw as { clientMsgId?: unknown; convId?: unknown }) : {};
  return {
    ...(typeof ids.clientMsgId === 'string' ? { clientMsgId: ids.clientMsgId.slice(0, 64) } : {}),
    ...(typeof ids.convId === 'string' ? { convId: ids.convId.slice(0, 128) } : {}),
  };
}

/**
 * The im/send topic handler, run inside authorizePublish so the PUBACK means "stored": validate, store with the next
 * seq, deliver, ack by clientMsgId. Bad input gets an error event on the sender's inbox and a PUBACK (so the device
 * does not resend it forever); a storage failure gets no PUBACK and the connection drops, so the device resends.
 * Per message it allocates one callback (no promises, no closures for the refusals, which are rare).
 */
export function imSendHandler(service: ImService, toUser: (userId: string, event: ImEvent | string) => void, log: Logger) {
  const max = service.settings.maxMessageBytes;
  const limiter = new SendRateLimiter(service.settings.sendRate, service.settings.sendBurst);
  const refuse = (claims: TokenClaims, done: Done, code: string, message: string, extra: { clientMsgId?: string; convId?: string } = {}): void => {
    toUser(claims.sub, { kind: 'error', code, message, ...extra });
    done(null);
  };
  return (claims: TokenClaims, clientId: string, packet: PublishPacket, done: Done): void => {
    packet.retain = false; // never let a device retain something on im/send
    const payload = packet.payload;
    if (payload.length > max) return refuse(claims, done, 'INFRA_ERR_IM_TOO_LARGE', `im/send payload of ${payload.length} bytes exceeds im.maxMessageBytes ${max}`);
    let raw: unknown;
    try {
      raw = JSON.parse(typeof payload === 'string' ? payload : payload.toString('utf8'));
    } catch {
      return refuse(claims, done, 'INFRA_ERR_MALFORMED_JSON', 'im/send payload is not JSON');
    }
    if (claims.role !== 'service' && claims.role !== 'admin' && !limiter.take(claims.sub)) {
      return refuse(claims, done, 'INFRA_ERR_IM_RATE_LIMITED', `more than im.sendRate (${service.settings.sendRate}/s) messages from ${claims.sub}`, idsOf(raw));
    }
    service.submit(claims, raw, (err, outcome) => {
      if (outcome) {
        toUser(claims.sub, outcome.ack);
        return done(null);
      }
      if (isInfraError(err)) return refuse(claims, done, err.code, err.message, idsOf(raw));
      log.error({ clientId, err: (err as Error).message }, 'im/send failed to store');
      done(err as Error);
    });
  };
}
