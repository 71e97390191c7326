import type { FastifyPluginAsync } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { RoutePlanner } from '../routing/plan.js';
import { PlanAnswer, PlanBody } from './plan-schema.js';

/** POST /dispatch/plan: solve a routing problem given in the request (nothing is stored). */
export function planRoutes(planner: RoutePlanner): FastifyPluginAsync {
  return async (app) => {
    const r = app.withTypeProvider<TypeBoxTypeProvider>();
    r.post('/dispatch/plan', {
      config: { roles: ['admin', 'service'] as const },
      schema: {
        tags: ['dispatch'],
        summary: 'Plan routes: vehicles (shifts, capacity, skills, started steps, multi-trip) and jobs (deliveries, pickup-delivery shipments, windows) in; routes with arrival times, unassigned jobs with reasons, cost out. Solved in a worker thread within a capped time limit.',
        body: PlanBody,
        response: { 200: PlanAnswer },
      },
    }, async (req) => planner.plan(req.body));
  };
}
