import { isInfraError, topics, type EventBus, type Logger } from '@infra/core';
import type { DispatchService } from './service.js';

const PREFIX = 'fleet/';
const SUFFIX = '/offers/reply';

/**
 * Riders answer offers over MQTT on fleet/{riderId}/offers/reply with {"offerId": "...", "accept": true|false}.
 * The broker's ACL lets a rider publish only under its own id, so the topic names who answers. The outcome goes
 * back on fleet/{riderId}/offers as {type: "dispatch.answer", offerId, ok, code?}. Bad payloads are answered, never thrown.
 */
export async function listenForOfferReplies(bus: EventBus, dispatch: DispatchService, log: Logger): Promise<() => Promise<void>> {
  return bus.subscribe(`${PREFIX}+${SUFFIX}`, (msg) => {
    const riderId = msg.topic.slice(PREFIX.length, msg.topic.length - SUFFIX.length);
    if (!riderId || riderId.includes('/')) return;
    const answer = (body: Record<string, unknown>): void => {
      void bus.publish(topics.fleetOffers(riderId), JSON.stringify({ type: 'dispatch.answer', ...body }), { qos: 1 }).catch(() => undefined);
    };
    let reply: { offerId?: unknown; accept?: unknown };
    try {
      reply = JSON.parse(msg.payload.toString('utf8')) as typeof reply;
    } catch {
      return answer({ ok: false, code: 'INFRA_ERR_MALFORMED_JSON' });
    }
    if (typeof reply !== 'object' || reply === null || typeof reply.offerId !== 'string' || reply.offerId.length > 64 || typeof reply.accept !== 'boolean') {
      return answer({ ok: false, code: 'INFRA_ERR_VALIDATION', offerId: typeof reply?.offerId === 'string' ? reply.offerId.slice(0, 64) : null });
    }
    const offerId = reply.offerId;
    dispatch.answer(offerId, riderId, reply.accept).then(
      (job) => answer({ ok: true, offerId, jobId: job.id, status: job.status }),
      (err: unknown) => {
        if (!isInfraError(err)) log.error({ err: (err as Error).message, riderId, offerId }, 'offer reply failed');
        answer({ ok: false, offerId, code: isInfraError(err) ? err.code : 'INFRA_ERR_INTERNAL' });
      },
    );
  });
}
