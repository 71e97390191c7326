import { afterAll, describe, expect, it } from 'vitest';
import mqtt from 'mqtt';
import { FREE_PORTS, infra, initStack, tempDir, upStack } from './harness.js';

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

  it('refuses an unknown pillar name', () => {
    const dir = initStack(tmp.dir, 'minimal', 'other');
    const r = infra(['up', '--dir', dir, '--only', 'brokre']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error INFRA_ERR_VALIDATION: --only brokre/);
  });
});
