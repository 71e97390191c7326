import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { InfraError } from '@infra/core';
import { parseFlow, toMermaid } from './definition.js';
import { address, seedBasics, startFulfillment, type FulfillmentHarness } from '../testing/fulfillment-harness.js';

const templateFlow = (t: string, f: string) => readFileSync(fileURLToPath(new URL(`../../../../templates/${t}/flows/${f}`, import.meta.url)), 'utf8');

function problems(text: string): { line?: number; file?: string; message: string }[] {
  try {
    parseFlow(text, 'flows/x.yaml');
  } catch (err) {
    expect(err).toBeInstanceOf(InfraError);
    expect((err as InfraError).code).toBe('INFRA_ERR_FLOW_INVALID');
    return (err as InfraError).details;
  }
  return [];
}

const base = `flow: x
initial: a
states:
  a: {}
  b: {}
  c: { final: true }
transitions:
  - { event: go, from: a, to: b, roles: [admin] }
  - { event: end, from: b, to: c, roles: [admin] }
`;

describe('flow definitions', () => {
  it('accepts every template flow', () => {
    for (const [t, f] of [['commerce', 'order.yaml'], ['commerce', 'after-sale.yaml'], ['delivery', 'order.yaml']] as const) {
      expect(() => parseFlow(templateFlow(t, f), f)).not.toThrow();
    }
  });

  it('refuses an unreachable state with its line', () => {
    const p = problems(base.replace('  c: { final: true }\n', '  c: { final: true }\n  orphan: {}\n'));
    expect(p).toHaveLength(1);
    expect(p[0]!.line).toBe(7);
    expect(p[0]!.file).toBe('flows/x.yaml');
  });

  it('refuses an unknown action, an unknown state and a duplicate transition, each with its line', () => {
    const text = base + '  - { event: go, from: a, to: c, roles: [admin] }\n  - { event: zap, from: a, to: nowhere, roles: [admin], actions: [launch_rockets] }\n';
    const p = problems(text);
    const lines = p.map((x) => x.line).sort();
    expect(lines).toEqual([10, 11, 11]);
  });

  it('refuses unknown keys and roles', () => {
    expect(problems(base.replace('roles: [admin] }', 'roles: [boss], colour: red }')).length).toBe(2);
  });

  it('draws Mermaid', () => {
    const m = toMermaid(parseFlow(base, 'x.yaml'));
    expect(m).toContain('stateDiagram-v2');
    expect(m).toContain('a --> b: go (admin)');
    expect(m).toContain('c --> [*]');
  });
});

describe('flow engine over HTTP', () => {
  let h: FulfillmentHarness;
  let admin: string;
  beforeAll(async () => {
    const order = templateFlow('commerce', 'order.yaml').replace('after: 30m', 'after: 1s');
    h = await startFulfillment({ flows: { 'order.yaml': order }, flowTimerMs: 100 });
    admin = await h.token('admin', 'admin');
    await seedBasics(h, admin, [{ sku: 'MUG', qty: 10 }]);
  });
  afterAll(async () => h?.close());

  it('refuses to start on an invalid flow file, naming file:line', async () => {
    await expect(startFulfillment({ flows: { 'order.yaml': base.replace('to: c', 'to: d') } })).rejects.toMatchObject({ code: 'INFRA_ERR_FLOW_INVALID', details: [expect.objectContaining({ line: 9 })] });
  });

  it('runs transitions with role checks, stores each one, and answers an illegal event with 409 and the allowed events', async () => {
    const c = await h.call('POST', '/orders', { token: admin, body: { customer: 'u1', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } });
    expect(c.status).toBe(201);
    const id = c.body.id as string;
    const user = await h.token('u1', 'user');
    const forbidden = await h.call('POST', `/orders/${id}/events`, { token: user, body: { event: 'pay' } });
    expect(forbidden.status).toBe(403);
    const illegal = await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event: 'ship' } });
    expect(illegal.status).toBe(409);
    expect(illegal.body.type).toBe('INFRA_ERR_ILLEGAL_TRANSITION');
    expect(illegal.body.allowed.sort()).toEqual(['cancel', 'pay']);
    const unknown = await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event: 'teleport' } });
    expect(unknown.status).toBe(409);
    const paid = await h.call('POST', `/orders/${id}/events`, { token: admin, body: { event: 'pay', reason: 'bank transfer seen' } });
    expect(paid.status).toBe(200);
    expect(paid.body.status).toBe('paid');
    expect(paid.body.history.map((x: { event: string }) => x.event)).toEqual(['create', 'pay']);
    expect(paid.body.history[1]).toMatchObject({ from: 'pending_payment', to: 'paid', actor: 'admin', actorRole: 'admin', reason: 'bank transfer seen' });
    expect(paid.body.payments).toEqual([expect.objectContaining({ provider: 'manual', amount: 899, status: 'captured' })]);
  });

  it('a state timeout raises an exception once', async () => {
    const c = await h.call('POST', '/orders', { token: admin, body: { customer: 'u2', address, lines: [{ sku: 'MUG', qty: 1, unitPrice: 899 }] } });
    const id = c.body.id as string;
    let found: { id: string; type: string; entity: { id: string }; occurrences: number } | undefined;
    for (let i = 0; i < 50 && !found; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const list = await h.call('GET', `/exceptions?type=payment_timeout&entity=${id}`, { token: admin });
      found = list.body.items[0];
    }
    expect(found).toMatchObject({ type: 'payment_timeout', entity: { id }, occurrences: 1 });
    await new Promise((r) => setTimeout(r, 300));
    const again = await h.call('GET', `/exceptions?type=payment_timeout&entity=${id}`, { token: admin });
    expect(again.body.items).toHaveLength(1);
    expect(again.body.items[0].occurrences).toBe(1);
    // resolving it with `cancel` cancels the order (as the resolver) and gives the stock back
    const before = (await h.call('GET', '/wms/stock?sku=MUG', { token: admin })).body.available as number;
    const resolved = await h.call('POST', `/exceptions/${found!.id}/resolve`, { token: admin, body: { action: 'cancel', note: 'never paid' } });
    expect(resolved.body).toMatchObject({ status: 'resolved', resolution: 'cancel' });
    const order = (await h.call('GET', `/orders/${id}`, { token: admin })).body;
    expect(order.status).toBe('cancelled');
    expect(order.history.at(-1)).toMatchObject({ event: 'cancel', actor: 'admin', reason: expect.stringContaining(found!.id) });
    expect((await h.call('GET', '/wms/stock?sku=MUG', { token: admin })).body.available).toBe(before + 1);
  });
});
