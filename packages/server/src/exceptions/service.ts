import { InfraError, newId, type Role } from '@infra/core';
import { exceptionStore, type ExceptionDb, type ExceptionRow } from './store.js';
import type { ExceptionView, ListQuery, RaiseBody, ResolveBody } from './schema.js';

export interface RaiseInput {
  type: string;
  severity?: 'low' | 'medium' | 'high';
  entityType: string;
  entityId: string;
  detail?: string;
}

function view(r: ExceptionRow, now: number, actions: string[], comments?: { author: string; body: string; at: number }[]): ExceptionView {
  return {
    id: r.id, type: r.type, severity: r.severity as ExceptionView['severity'], entity: { type: r.entity_type, id: r.entity_id },
    status: r.status as ExceptionView['status'], assignee: r.assignee, detail: r.detail, resolution: r.resolution, note: r.note,
    occurrences: r.occurrences, actions, ageSeconds: Math.max(0, Math.floor((now - r.created_at) / 1000)),
    createdAt: new Date(r.created_at).toISOString(), updatedAt: new Date(r.updated_at).toISOString(),
    ...(comments ? { comments: comments.map((c) => ({ author: c.author, body: c.body, at: new Date(c.at).toISOString() })) } : {}),
  };
}

/** Runs a resolution's action on the entity (e.g. cancel an order); throwing leaves the exception unresolved. */
export type ResolutionHandler = (exception: ExceptionView, action: ResolveBody['action'], actor: { id: string; role: Role }) => Promise<void>;
/** Carries out one action on one exception's entity; throwing leaves the exception unresolved. */
export type ActionHandler = (exception: ExceptionView, actor: { id: string; role: Role }) => Promise<void>;
type Action = ResolveBody['action'];

/** The exception-order center: raised by flow timeouts, allocation failures and by hand; assigned, commented, resolved. */
export class ExceptionService {
  private readonly handlers: ResolutionHandler[] = [];
  /** `${entityType}:${action}` -> what carries it out */
  private readonly actionHandlers = new Map<string, ActionHandler>();

  constructor(private readonly db: ExceptionDb, private readonly now: () => number = Date.now) {}

  /** Observers of every resolution (after its action, if any, succeeded). */
  onResolve(handler: ResolutionHandler): void {
    this.handlers.push(handler);
  }

  /**
   * The module owning an entity type says which resolve actions it carries out (orders: cancel, refund). Resolving
   * with an action nobody carries out for that entity is refused, never recorded as done when nothing happened.
   */
  registerAction(entityType: string, action: Exclude<Action, 'none'>, handler: ActionHandler): void {
    this.actionHandlers.set(`${entityType}:${action}`, handler);
  }

  /** The actions an exception on this entity type can be resolved with (`none` always). */
  actionsFor(entityType: string): Action[] {
    const prefix = `${entityType}:`;
    return [...[...this.actionHandlers.keys()].filter((k) => k.startsWith(prefix)).map((k) => k.slice(prefix.length) as Action).sort(), 'none'];
  }

  /**
   * Raises inside the caller's transaction (or on its own). An open exception of the same type for
   * the same entity counts one more occurrence instead of a duplicate.
   */
  async raise(input: RaiseInput, db: ExceptionDb = this.db): Promise<string> {
    const now = this.now();
    const open = await exceptionStore.openFor(db, input.type, input.entityType, input.entityId);
    if (open) {
      await exceptionStore.bump(db, open.id, input.detail ?? open.detail, now);
      return open.id;
    }
    const id = newId('exc', now);
    await exceptionStore.insert(db, {
      id, type: input.type, severity: input.severity ?? 'medium', entity_type: input.entityType, entity_id: input.entityId, status: 'open',
      assignee: null, detail: input.detail ?? null, resolution: null, note: null, occurrences: 1, created_at: now, updated_at: now, resolved_at: null,
    });
    return id;
  }

  async raiseManual(body: RaiseBody): Promise<ExceptionView> {
    const id = await this.raise({ type: body.type, entityType: body.entity.type, entityId: body.entity.id, ...(body.severity ? { severity: body.severity } : {}), ...(body.detail ? { detail: body.detail } : {}) });
    return this.get(id);
  }

  async get(id: string): Promise<ExceptionView> {
    const r = await exceptionStore.get(this.db, id);
    if (!r) throw new InfraError('INFRA_ERR_NOT_FOUND', `exception ${id} not found`);
    return view(r, this.now(), this.actionsFor(r.entity_type), await exceptionStore.comments(this.db, id));
  }

  async list(q: ListQuery): Promise<{ items: ExceptionView[]; nextCursor: string | null }> {
    const limit = q.limit ?? 50;
    const rows = await exceptionStore.list(this.db, { ...(q.status ? { status: q.status } : {}), ...(q.type ? { type: q.type } : {}), ...(q.entity ? { entityId: q.entity } : {}), ...(q.cursor ? { cursor: q.cursor } : {}), limit });
    const now = this.now();
    return { items: rows.map((r) => view(r, now, this.actionsFor(r.entity_type))), nextCursor: rows.length === limit ? rows[rows.length - 1]!.id : null };
  }

  private async change(id: string, set: Partial<ExceptionRow>): Promise<ExceptionView> {
    if (!(await exceptionStore.update(this.db, id, { ...set, updated_at: this.now() }))) {
      const r = await exceptionStore.get(this.db, id);
      if (!r) throw new InfraError('INFRA_ERR_NOT_FOUND', `exception ${id} not found`);
      throw new InfraError('INFRA_ERR_CONFLICT', `exception ${id} is already resolved`);
    }
    return this.get(id);
  }

  assign(id: string, assignee: string): Promise<ExceptionView> {
    return this.change(id, { assignee, status: 'assigned' });
  }

  async comment(id: string, author: string, body: string): Promise<ExceptionView> {
    if (!(await exceptionStore.get(this.db, id))) throw new InfraError('INFRA_ERR_NOT_FOUND', `exception ${id} not found`);
    await exceptionStore.comment(this.db, id, author, body, this.now());
    return this.get(id);
  }

  async resolve(id: string, body: ResolveBody, actor: { id: string; role: Role }): Promise<ExceptionView> {
    const current = await this.get(id);
    if (current.status === 'resolved') throw new InfraError('INFRA_ERR_CONFLICT', `exception ${id} is already resolved`);
    if (body.action !== 'none') {
      const carryOut = this.actionHandlers.get(`${current.entity.type}:${body.action}`);
      if (!carryOut) {
        const err = new InfraError('INFRA_ERR_ACTION_UNSUPPORTED', `nothing carries out "${body.action}" for a ${current.entity.type}; this exception can be resolved with: ${current.actions.join(', ')}`);
        throw Object.assign(err, { problemExtra: { actions: current.actions } });
      }
      await carryOut(current, actor);
    }
    for (const h of this.handlers) await h(current, body.action, actor);
    return this.change(id, { status: 'resolved', resolution: body.action, note: body.note ?? null, resolved_at: this.now() });
  }
}
