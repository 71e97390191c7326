import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import { INFRA_BIN, infra, initStack, tempDir, upStack } from './harness.js';

const tmp = tempDir('infra-simulate-');
let dir: string;
beforeAll(() => {
  dir = initStack(tmp.dir, 'delivery');
});
afterAll(() => tmp.cleanup());

function run(args: string[], timeoutMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [INFRA_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('infra simulate riders', () => {
  it('refuses to run without a running stack, naming what to do', () => {
    const r = infra(['simulate', 'riders', '--dir', dir, '--count', '2']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('INFRA_ERR_NOT_RUNNING');
    expect(infra(['simulate', 'riders', '--dir', dir, '--center', 'north']).stderr).toContain('INFRA_ERR_BAD_ARGUMENT');
  });

  it('drives riders over MQTT through offers, pickups and drop-offs until every posted job is delivered', async () => {
    const stack = await upStack(dir);
    try {
      const r = await run(['simulate', 'riders', '--dir', dir, '--count', '3', '--jobs', '2', '--seconds', '100', '--speed', '40', '--fix-ms', '500', '--radius', '600', '--json'], 130_000);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const summary = JSON.parse(r.stdout) as { riders: number; jobsPosted: number; assigned: number; delivered: number; fixesSent: number; routes: number; etaAccuracy: { samples: number } };
      expect(summary).toMatchObject({ riders: 3, jobsPosted: 2, assigned: 2, delivered: 2 });
      expect(summary.fixesSent).toBeGreaterThan(0);
      expect(summary.routes).toBeGreaterThanOrEqual(2); // each assignment sends the rider its planned stops, which it rides
      expect(summary.etaAccuracy.samples).toBeGreaterThan(0);
      // the deliveries really went through the flow, as the server stored them
      const admin = stack.state.adminToken;
      const list = (await (await fetch(`http://127.0.0.1:${stack.port('server', 'api')}/api/v1/delivery?limit=10`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { items: { status: string; history: { to: string }[] }[] };
      expect(list.items.map((d) => d.status)).toEqual(['delivered', 'delivered']);
      for (const d of list.items) expect(d.history.map((h) => h.to)).toEqual(expect.arrayContaining(['assigned', 'at_pickup', 'picked_up', 'at_customer', 'delivered']));
      // the simulated riders went off duty at the end
      const riders = (await (await fetch(`http://127.0.0.1:${stack.port('server', 'api')}/api/v1/riders`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { items: { id: string; onDuty: boolean }[] };
      expect(riders.items.filter((x) => x.id.startsWith('sim-r')).every((x) => !x.onDuty)).toBe(true);
    } finally {
      await stack.stop();
    }
  }, 180_000);
});
