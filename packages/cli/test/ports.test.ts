import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type Server } from 'node:net';
import { infra, initStack, runFiles, tempDir } from './harness.js';

const tmp = tempDir();
let dir: string;

beforeAll(() => {
  dir = initStack(tmp.dir, 'commerce');
});
afterAll(() => tmp.cleanup());

function hold(host: string): Promise<{ server: Server; port: number }> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0, ipv6Only: host.includes(':') }, () => {
      const addr = server.address();
      resolve({ server, port: typeof addr === 'object' && addr ? addr.port : 0 });
    });
  });
}

const close = (s: Server): Promise<void> => new Promise((r) => s.close(() => r()));

async function canBindIpv6(): Promise<boolean> {
  try {
    const { server } = await hold('::1');
    await close(server);
    return true;
  } catch {
    return false;
  }
}

const keys = ['http.port', 'mqtt.port', 'media.rtmp.port', 'media.http.port'] as const;

describe('a taken port', () => {
  for (const key of keys) {
    it(`${key} held on 127.0.0.1: one line naming port and key, exit 1, nothing left running`, async () => {
      const { server, port } = await hold('127.0.0.1');
      try {
        const sets = keys.flatMap((k) => ['--set', `${k}=${k === key ? port : 0}`]);
        const r = infra(['up', '--dir', dir, ...sets]);
        expect(r.code).toBe(1);
        const lines = r.stderr.trim().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toBe(`error INFRA_ERR_PORT_TAKEN: port ${port} (${key}) is in use — the ${key === 'http.port' ? 'server' : key === 'mqtt.port' ? 'broker' : 'media'} cannot start; change ${key} in infra.yaml or pass --set ${key}=N`);
        expect(r.stdout).not.toContain('is ready');
        expect(runFiles(dir)).toEqual([]);
      } finally {
        await close(server);
      }
    });
  }

  it('held on ::1 only (IPv6) is reported too', async (ctx) => {
    if (!(await canBindIpv6())) {
      console.log('skipped: this machine cannot bind ::1 (no IPv6 loopback)');
      ctx.skip();
    }
    const { server, port } = await hold('::1');
    try {
      const r = infra(['up', '--dir', dir, '--set', `mqtt.port=${port}`, '--set', 'http.port=0', '--set', 'media.rtmp.port=0', '--set', 'media.http.port=0']);
      expect(r.code).toBe(1);
      expect(r.stderr.trim()).toMatch(new RegExp(`^error INFRA_ERR_PORT_TAKEN: port ${port} \\(mqtt\\.port\\)`));
    } finally {
      await close(server);
    }
  });
});
