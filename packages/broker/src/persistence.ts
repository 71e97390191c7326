import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { Level } from 'level';

const require = createRequire(import.meta.url);
// CommonJS package without types: a factory returning aedes' persistence interface.
const levelPersistence = require('aedes-persistence-level') as (db: Level<string, string>) => LevelPersistence;

interface LevelPersistence {
  outgoingClearMessageId(client: { clean?: boolean } | null, packet: unknown, cb?: unknown): Promise<unknown> | undefined;
  outgoingEnqueueCombi(subs: readonly unknown[] | null | undefined, packet: unknown): Promise<unknown>;
  subscriptionsByTopic(topic: string): Promise<readonly unknown[]>;
}

/** what aedes awaits when there is nothing to store (it ignores the value) */
const NOTHING_STORED: Promise<unknown> = Promise.resolve(undefined);
/** no persistent subscriber to queue a copy for (aedes only reads the list) */
const NO_SUBSCRIBERS: Promise<readonly unknown[]> = Promise.resolve(Object.freeze([]));

export interface BrokerPersistence {
  /** hand to Aedes.createBroker({ persistence }) */
  persistence: unknown;
  dir: string;
  /** closes the LevelDB (after aedes itself has closed) */
  close(): Promise<void>;
}

/**
 * Durable broker state (sessions, subscriptions, retained messages, QoS 1/2 offline queues) in LevelDB
 * under <data.dir>/broker. IM history is not here: it lives in im.db; this is only a delivery buffer.
 * `consumed`: topics the broker takes for itself and never forwards to any subscriber (its authorizeForward refuses
 * them, on replay from an offline queue too), so nothing is ever queued for them.
 */
export async function openBrokerPersistence(dataDir: string, consumed: readonly string[] = []): Promise<BrokerPersistence> {
  const dir = join(dataDir, 'broker');
  mkdirSync(dir, { recursive: true });
  const db = new Level<string, string>(dir);
  await db.open();
  const persistence = levelPersistence(db);
  // A clean session never has in-flight state in the store (aedes keeps it in memory for those), so its
  // PUBACKs need no LevelDB read: that lookup was most of the per-message cost of QoS 1 on this store.
  const clear = persistence.outgoingClearMessageId.bind(persistence);
  persistence.outgoingClearMessageId = (client, packet, cb) => (client?.clean === true && cb === undefined ? Promise.resolve(undefined) : clear(client, packet, cb));
  // Every QoS 1 publish asks to store a copy for each persistent-session subscriber; most (im/send, and every delivery
  // to clean sessions) have none, and the store's async method then still cost a promise and its frame per publish.
  const enqueue = persistence.outgoingEnqueueCombi.bind(persistence);
  persistence.outgoingEnqueueCombi = (subs, packet) => (!subs || subs.length === 0 ? NOTHING_STORED : enqueue(subs, packet));
  // Every QoS 1 publish also looks up the persistent-session subscribers of its topic, to queue copies that a consumed
  // topic's subscribers (a backend on `#`) would only have dropped at replay: for those no lookup, nothing queued.
  const neverForwarded = new Set(consumed);
  const byTopic = persistence.subscriptionsByTopic.bind(persistence);
  persistence.subscriptionsByTopic = (topic) => (neverForwarded.has(topic) ? NO_SUBSCRIBERS : byTopic(topic));
  return {
    persistence,
    dir,
    close: async () => {
      if (db.status === 'open' || db.status === 'opening') await db.close();
    },
  };
}
