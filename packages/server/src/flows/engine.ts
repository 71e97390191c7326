import { InfraError, type Role } from '@infra/core';
import type { FlowDefinition, FlowTransition } from './definition.js';
import { flowStore, type FlowDb, type TransitionRow } from './store.js';

export interface Actor {
  id: string;
  role: Role;
}

/** 409 with the events the caller may fire now, as a problem member `allowed`. */
export class IllegalTransitionError extends InfraError {
  readonly problemExtra: { allowed: string[]; state: string };
  constructor(flow: string, entityId: string, event: string, state: string, allowed: string[]) {
    super('INFRA_ERR_ILLEGAL_TRANSITION', `${flow} ${entityId} is ${state}: event ${event} is not allowed now (allowed: ${allowed.join(', ') || 'none'})`);
    this.problemExtra = { allowed, state };
  }
}

export interface Fired {
  from: string;
  to: string;
  transition: FlowTransition;
}

/**
 * One engine for every declared flow. It owns the current state of each entity and the log of every
 * transition; callers pass their open transaction so the state change, their own rows and the outbox
 * event commit together.
 */
export class FlowEngine {
  constructor(private readonly flows: Map<string, FlowDefinition>) {}

  definition(flow: string): FlowDefinition {
    const def = this.flows.get(flow);
    if (!def) throw new InfraError('INFRA_ERR_FLOW_INVALID', `no flow named ${flow} (add flows/${flow}.yaml to the stack)`);
    return def;
  }

  names(): string[] {
    return [...this.flows.keys()];
  }

  /** Events a role may fire from a state. */
  allowedEvents(flow: string, state: string, role?: Role): string[] {
    return [...new Set(this.definition(flow).transitions.filter((t) => t.from.includes(state) && (!role || t.roles.includes(role))).map((t) => t.event))];
  }

  private deadline(def: FlowDefinition, state: string, now: number): number | null {
    const t = def.states[state]?.timeout;
    return t ? now + t.afterMs : null;
  }

  /** Puts a new entity in the flow's initial state (logged as event `create`). */
  async start(db: FlowDb, flow: string, entityId: string, actor: Actor, now: number): Promise<string> {
    const def = this.definition(flow);
    await flowStore.insertInstance(db, { flow, entity_id: entityId, state: def.initial, entered_at: now, deadline_at: this.deadline(def, def.initial, now), timeout_raised: 0 });
    await flowStore.logTransition(db, { flow, entity_id: entityId, from_state: null, to_state: def.initial, event: 'create', actor: actor.id, actor_role: actor.role, at: now, reason: null });
    return def.initial;
  }

  /**
   * Fires `event`: 409 listing the allowed events when the state has no such transition, 403 when the
   * role may not fire it, 409 when a guard refuses. Returns the transition so the caller runs its actions.
   */
  async fire(db: FlowDb, flow: string, entityId: string, event: string, actor: Actor, now: number, opts: { reason?: string; guard?: (name: string) => Promise<boolean> } = {}): Promise<Fired> {
    const def = this.definition(flow);
    const inst = await flowStore.instance(db, flow, entityId);
    if (!inst) throw new InfraError('INFRA_ERR_NOT_FOUND', `${flow} ${entityId} not found`);
    const t = def.transitions.find((x) => x.event === event && x.from.includes(inst.state));
    if (!t) throw new IllegalTransitionError(flow, entityId, event, inst.state, this.allowedEvents(flow, inst.state, actor.role));
    if (!t.roles.includes(actor.role)) throw new InfraError('INFRA_ERR_FORBIDDEN', `role ${actor.role} may not fire ${event} on ${flow} (allowed: ${t.roles.join(', ')})`);
    if (t.guard && opts.guard && !(await opts.guard(t.guard))) {
      throw new IllegalTransitionError(flow, entityId, event, inst.state, this.allowedEvents(flow, inst.state, actor.role).filter((e) => e !== event));
    }
    const moved = await flowStore.moveInstance(db, flow, entityId, inst.state, t.to, now, this.deadline(def, t.to, now));
    if (!moved) throw new InfraError('INFRA_ERR_CONFLICT', `${flow} ${entityId} changed state meanwhile; retry`);
    await flowStore.logTransition(db, { flow, entity_id: entityId, from_state: inst.state, to_state: t.to, event, actor: actor.id, actor_role: actor.role, at: now, reason: opts.reason ?? null });
    return { from: inst.state, to: t.to, transition: t };
  }

  async state(db: FlowDb, flow: string, entityId: string): Promise<string | undefined> {
    return (await flowStore.instance(db, flow, entityId))?.state;
  }

  history(db: FlowDb, flow: string, entityId: string): Promise<TransitionRow[]> {
    return flowStore.history(db, flow, entityId);
  }

  /** Entities whose state timed out, with the exception type their state raises. */
  async dueTimeouts(db: FlowDb, now: number, limit = 100): Promise<{ flow: string; entityId: string; state: string; raise: string; enteredAt: number }[]> {
    const rows = await flowStore.due(db, now, limit);
    return rows.flatMap((r) => {
      const raise = this.flows.get(r.flow)?.states[r.state]?.timeout?.raise;
      return raise ? [{ flow: r.flow, entityId: r.entity_id, state: r.state, raise, enteredAt: r.entered_at }] : [];
    });
  }

  claimTimeout(db: FlowDb, flow: string, entityId: string, state: string): Promise<boolean> {
    return flowStore.claimTimeout(db, flow, entityId, state);
  }
}
