import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { FREE_PORTS, infra, initStack, runFiles, tempDir, upStack } from './harness.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('infra up --only', () => {
  it('runs one pillar alone (scale-out): --only broker starts MQTT and nothing else', async () => {
    const dir = initStack(tmp.dir, 'commerce');
    const stack = await upStack(dir, [...FREE_PORTS, '--only', 'broker']);
    try {
      expect(Object.keys(stack.state.endpoints)).toEqual(['broker']);
      expect(stack.stdout()).not.toContain('RTMP');
      expect(stack.stdout()).not.toContain('/api/v1');
      const token = infra(['token', '--user', 'svc', '--role', 'service', '--dir', dir]).stdout.trim();
      const client = await mqtt.connectAsync(`mqtt://127.0.0.1:${stack.port('broker', 'mqtt')}`, { protocolVersion: 4, username: 'svc', password: token, reconnectPeriod: 0 }, false);
      await client.endAsync(true);
      const status = JSON.parse(infra(['status', '--json', '--dir', dir]).stdout) as { services: Record<string, { ok: boolean }> };
      expect(status.services).toEqual({ broker: expect.objectContaining({ ok: true }) });
    } finally {
      expect((await stack.stop()).code).toBe(0);
    }
  });

  it('splits one stack across processes: `--only broker` and `--only server,media` run side by side; status shows both, down stops both', async () => {
    const dir = initStack(tmp.dir, 'commerce', 'split');
    const broker = await upStack(dir, [...FREE_PORTS, '--only', 'broker']);
    const rest = await upStack(dir, [...FREE_PORTS, '--only', 'server,media']);
    try {
      const again = infra(['up', '--dir', dir, ...FREE_PORTS, '--only', 'media']);
      expect(again.code).toBe(1);
      expect(again.stderr).toContain(`error INFRA_ERR_ALREADY_RUNNING: stack "split" already runs media (pid ${rest.child.pid})`);

      const status = JSON.parse(infra(['status', '--json', '--dir', dir]).stdout) as { processes: { pid: number; services: string[] }[]; services: Record<string, { ok: boolean; pid: number }> };
      expect(status.processes.map((p) => [p.pid, p.services])).toEqual([[broker.child.pid, ['broker']], [rest.child.pid, ['server', 'media']]]);
      expect(Object.entries(status.services).map(([s, v]) => [s, v.ok, v.pid])).toEqual([['server', true, rest.child.pid], ['broker', true, broker.child.pid], ['media', true, rest.child.pid]]);

      const down = JSON.parse(infra(['down', '--json', '--dir', dir]).stdout) as { stopped: boolean; pids: number[] };
      expect(down.pids.sort()).toEqual([broker.child.pid, rest.child.pid].sort());
      expect(runFiles(dir)).toEqual([]);
    } finally {
      for (const s of [broker, rest]) if (s.child.exitCode === null && s.child.signalCode === null) await s.stop();
    }
  });

  it('refuses an unknown pillar name', () => {
    const dir = initStack(tmp.dir, 'minimal', 'other');
    const r = infra(['up', '--dir', dir, '--only', 'brokre']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error INFRA_ERR_BAD_ARGUMENT: --only brokre/);
  });
});
