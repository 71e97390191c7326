import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { checkSolution, parseInstance } from '@infra/server/routing';
import { infra, tempDir } from './harness.js';

const fixture = (name: string): string => fileURLToPath(new URL(`../../server/src/routing/fixtures/${name}`, import.meta.url));

describe('infra bench dispatch', () => {
  const tmp = tempDir('infra-bench-dispatch-');
  afterAll(() => tmp.cleanup());

  it('--json prints one object whose routes re-check as feasible, with the same distance', () => {
    for (const file of ['lilim-lr110gen.txt', 'solomon-r125gen.txt']) {
      const r = infra(['bench', 'dispatch', '--instance', fixture(file), '--time-limit', '0.5', '--seed', '3', '--json']);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.stdout) as { vehicles: number; distance: number; timeMs: number; routes: number[][] };
      expect(Object.keys(out).sort()).toEqual(['distance', 'routes', 'timeMs', 'vehicles']);
      const problem = parseInstance(readFileSync(fixture(file), 'utf8'));
      const check = checkSolution(problem, out.routes);
      expect(check.violations).toEqual([]);
      expect(check.distance).toBeCloseTo(out.distance, 9);
      expect(out.vehicles).toBe(out.routes.length);
      expect(out.vehicles).toBeLessThanOrEqual(problem.fleetSize);
      expect(out.timeMs).toBeGreaterThan(0);
    }
  });

  it('prints vehicles, distance and the gap to --bks', () => {
    const r = infra(['bench', 'dispatch', '--instance', fixture('solomon-r125gen.txt'), '--time-limit', '0.3', '--bks', '500']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^vehicles\s+\d+$/m);
    expect(r.stdout).toMatch(/^distance\s+[\d.]+\s+\(gap \+[\d.]+% to 500\)$/m);
  });

  it('a bad file and an infeasible instance are one-line errors with exit 1', () => {
    const missing = infra(['bench', 'dispatch', '--instance', join(tmp.dir, 'none.txt'), '--json']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe('');
    expect(missing.stderr.split('\n')[0]).toMatch(/^error INFRA_ERR_DISPATCH_BAD_INSTANCE: /);

    const garbage = join(tmp.dir, 'garbage.txt');
    writeFileSync(garbage, 'VEHICLE\nNUMBER CAPACITY\n 2 10\nCUSTOMER\n 0 1 2\n');
    expect(infra(['bench', 'dispatch', '--instance', garbage]).stderr.split('\n')[0]).toMatch(/^error INFRA_ERR_DISPATCH_BAD_INSTANCE: .*garbage\.txt:5:/);

    // one vehicle cannot serve 25 customers with capacity 200
    const oneTruck = join(tmp.dir, 'one-truck.txt');
    writeFileSync(oneTruck, readFileSync(fixture('solomon-r125gen.txt'), 'utf8').replace('  25         200', '  1         200'));
    const r = infra(['bench', 'dispatch', '--instance', oneTruck, '--time-limit', '0.2']);
    expect(r.code).toBe(1);
    expect(r.stderr.split('\n')[0]).toMatch(/^error INFRA_ERR_DISPATCH_INFEASIBLE: /);
  });
});
