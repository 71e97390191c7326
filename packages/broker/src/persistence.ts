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
}

/** what aedes awaits when there is nothing to store (it ignores the value) */
const NOTHING_STORED: Promise<unknown> = Promise.resolve(undefined);

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
 */
export async function openBrokerPersistence(dataDir: string): Promise<BrokerPersistence> {
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
  return {
    persistence,
    dir,
    close: async () => {
      if (db.status === 'open' || db.status === 'opening') await db.close();
    },
  };
}
