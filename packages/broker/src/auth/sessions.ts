import type { Kysely } from 'kysely';
import type { ModuleMigrations } from '@infra/core';
import { init } from './migrations/0001_session_owners.js';

export const sessionMigrations: ModuleMigrations = { module: 'mqtt-sessions', migrations: { '0001_session_owners': init } };

export interface SessionTables {
  mqtt_session_owners: { client_id: string; user_id: string; claimed_at: number };
}

/**
 * MQTT keys a session by client id alone, and aedes restores a persistent session's subscriptions and queued QoS 1
 * messages to whoever connects with that id next. Without an owner, another user who reuses (or guesses) the client
 * id of a device's persistent session would receive that device's inbox. So the first user who opens a persistent
 * session under a client id owns it until they end it with a clean connect; anyone else is refused that client id.
 */
export class SessionOwners {
  constructor(private readonly db: Kysely<SessionTables>, private readonly now: () => number = Date.now) {}

  /** May `userId` connect as `clientId` with this clean flag? Records (or ends) the ownership as a side effect. */
  async mayUse(clientId: string, userId: string, clean: boolean): Promise<boolean> {
    if (!clean) {
      // insert-then-read: of two users racing for a fresh id, exactly one owns it
      await this.db.insertInto('mqtt_session_owners').values({ client_id: clientId, user_id: userId, claimed_at: this.now() }).onConflict((oc) => oc.column('client_id').doNothing()).execute();
    }
    const row = await this.db.selectFrom('mqtt_session_owners').select('user_id').where('client_id', '=', clientId).executeTakeFirst();
    if (row && row.user_id !== userId) return false;
    // a clean connect by the owner discards the stored session (MQTT 3.1.1 §3.1.2.4): the id is free again
    if (clean && row) await this.db.deleteFrom('mqtt_session_owners').where('client_id', '=', clientId).where('user_id', '=', userId).execute();
    return true;
  }
}
