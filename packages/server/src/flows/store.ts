import type { Generated, Kysely } from 'kysely';
import { Prepared } from '@infra/core';

export interface FlowTables {
  flow_instances: { flow: string; entity_id: string; state: string; entered_at: number; deadline_at: number | null; timeout_raised: number };
  flow_transitions: { id: Generated<number>; flow: string; entity_id: string; from_state: string | null; to_state: string; event: string; actor: string; actor_role: string; at: number; reason: string | null };
}

export type FlowDb = Kysely<FlowTables>;

export interface TransitionRow { from: string | null; to: string; event: string; actor: string; actorRole: string; at: number; reason: string | null }

type TransitionInsert = Omit<FlowTables['flow_transitions'], 'id'>;
const q = {
  insertInstance: new Prepared<FlowTables, FlowTables['flow_instances']>((db, p) =>
    db.insertInto('flow_instances').values(p.row(['flow', 'entity_id', 'state', 'entered_at', 'deadline_at', 'timeout_raised']))),
  logTransition: new Prepared<FlowTables, TransitionInsert>((db, p) =>
    db.insertInto('flow_transitions').values(p.row(['flow', 'entity_id', 'from_state', 'to_state', 'event', 'actor', 'actor_role', 'at', 'reason']))),
};

/** SQL for the flow engine's own tables: current state per entity and the transition log. */
export const flowStore = {
  async instance(db: FlowDb, flow: string, entityId: string) {
    return db.selectFrom('flow_instances').selectAll().where('flow', '=', flow).where('entity_id', '=', entityId).executeTakeFirst();
  },
  async insertInstance(db: FlowDb, row: FlowTables['flow_instances']): Promise<void> {
    await q.insertInstance.execute(db, row);
  },
  /** Moves the entity only if it is still in `from` (optimistic: a concurrent transition loses). */
  async moveInstance(db: FlowDb, flow: string, entityId: string, from: string, to: string, at: number, deadline: number | null): Promise<boolean> {
    const r = await db.updateTable('flow_instances')
      .set({ state: to, entered_at: at, deadline_at: deadline, timeout_raised: 0 })
      .where('flow', '=', flow).where('entity_id', '=', entityId).where('state', '=', from)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
  async logTransition(db: FlowDb, row: TransitionInsert): Promise<void> {
    await q.logTransition.execute(db, row);
  },
  async history(db: FlowDb, flow: string, entityId: string): Promise<TransitionRow[]> {
    const rows = await db.selectFrom('flow_transitions').selectAll().where('flow', '=', flow).where('entity_id', '=', entityId).orderBy('id').execute();
    return rows.map((r) => ({ from: r.from_state, to: r.to_state, event: r.event, actor: r.actor, actorRole: r.actor_role, at: r.at, reason: r.reason }));
  },
  async due(db: FlowDb, now: number, limit: number) {
    return db.selectFrom('flow_instances').selectAll().where('timeout_raised', '=', 0).where('deadline_at', '<=', now).orderBy('deadline_at').limit(limit).execute();
  },
  /** Claims a timeout once: false when another sweep or a transition got there first. */
  async claimTimeout(db: FlowDb, flow: string, entityId: string, state: string): Promise<boolean> {
    const r = await db.updateTable('flow_instances').set({ timeout_raised: 1 })
      .where('flow', '=', flow).where('entity_id', '=', entityId).where('state', '=', state).where('timeout_raised', '=', 0)
      .executeTakeFirst();
    return Number(r.numUpdatedRows) === 1;
  },
};
