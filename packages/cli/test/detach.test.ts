import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import mqtt from 'mqtt';
import { FREE_PORTS, INFRA_BIN, infra, initStack, tempDir } from './harness.js';

const tmp = tempDir();
let dir: string;

beforeAll(() => {
  dir = initStack(tmp.dir, 'delivery');
});
afterAll(() => {
  infra(['down', '--dir', dir]);
  tmp.cleanup();
});

interface Status {
  running: boolean;
  processes: { pid: number }[];
  services: Record<string, { ok: boolean; endpoints: { name: string; port: number }[] }>;
}

describe('infra up --detach, status, logs, down', () => {
  let status: Status;

  it('starts in the background, prints the ready block and returns', () => {
    const r = infra(['up', '--detach', '--dir', dir, ...FREE_PORTS]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('is ready');
    expect(r.stdout).toContain('Running in the background');
    status = JSON.parse(infra(['status', '--json', '--dir', dir]).stdout) as Status;
    expect(status.running).toBe(true);
    expect(Object.keys(status.services).sort()).toEqual(['broker', 'server']); // the delivery template has no media
    expect(Object.values(status.services).every((s) => s.ok)).toBe(true);
  });

  it('refuses a second `infra up` of the same stack', () => {
    const r = infra(['up', '--dir', dir, ...FREE_PORTS]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error INFRA_ERR_ALREADY_RUNNING: stack "stack" already runs server, broker (pid ${status.processes[0]?.pid})`);
  });

  it('`infra logs` shows each service’s lines, `logs broker -f` follows new ones', async () => {
    const all = infra(['logs', '--dir', dir]);
    expect(all.code).toBe(0);
    expect(all.stdout).toMatch(/INFO\s+server\s+gateway listening/);
    expect(all.stdout).toMatch(/INFO\s+broker\s+broker listening/);
    const broker = infra(['logs', 'broker', '--dir', dir]);
    expect(broker.stdout).not.toMatch(/\sserver\s/);

    const follow = spawn(process.execPath, [INFRA_BIN, 'logs', 'broker', '-f', '-n', '0', '--dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    follow.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      // `-n 0` starts at the end of the file: keep causing new broker lines until the follower shows one
      const port = status.services['broker']?.endpoints.find((e) => e.name === 'mqtt')?.port;
      const deadline = Date.now() + 15_000;
      while (!out.includes('mqtt connect refused') && Date.now() < deadline) {
        await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, { protocolVersion: 4, reconnectPeriod: 0 }, false).catch(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(out).toContain('mqtt connect refused: no credentials');
    } finally {
      follow.kill('SIGINT');
    }
  });

  it('`infra down` drains and stops it', () => {
    const r = infra(['down', '--dir', dir, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ stopped: true, pids: [status.processes[0]?.pid] });
    const after = infra(['status', '--json', '--dir', dir]);
    expect(after.code).toBe(1);
    expect((JSON.parse(after.stdout) as Status).running).toBe(false);
    expect(infra(['down', '--dir', dir]).stdout).toContain('not running');
  });
});
