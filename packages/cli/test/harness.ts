import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The real launcher, as a user runs it. */
export const INFRA_BIN = fileURLToPath(new URL('../../../bin/infra.js', import.meta.url));

/** Every port on 0, so tests never collide with each other or with the machine. */
export const FREE_PORTS = ['--set', 'http.port=0', '--set', 'mqtt.port=0', '--set', 'mqtt.tlsPort=0', '--set', 'media.rtmp.port=0', '--set', 'media.http.port=0'];

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `infra …` to completion with no stdin (as CI does). */
export function infra(args: string[], opts: { cwd?: string; env?: Record<string, string> } = {}): CliResult {
  const r = spawnSync(process.execPath, [INFRA_BIN, ...args], { cwd: opts.cwd, env: { ...process.env, ...opts.env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function tempDir(prefix = 'infra-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** `infra init <tmp>/<name> --template T --yes` and returns the stack dir. */
export function initStack(parent: string, template = 'commerce', name = 'stack'): string {
  const dir = join(parent, name);
  const r = infra(['init', dir, '--template', template, '--yes']);
  if (r.code !== 0) throw new Error(`infra init failed: ${r.stderr}`);
  return dir;
}

export interface Endpoint {
  name: string;
  url: string;
  port: number;
}

/** The state files `infra up` processes leave under <data.dir>/run (one per process). */
export function runFiles(dir: string): string[] {
  try {
    return readdirSync(join(dir, 'data', 'run')).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
}

export interface StackState {
  pid: number;
  adminToken: string;
  endpoints: Record<string, Endpoint[]>;
}

export interface RunningStack {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  state: StackState;
  port(service: string, name: string): number;
  /** SIGTERM and wait; resolves with the exit code and how long it took */
  stop(): Promise<{ code: number | null; ms: number }>;
}

/** Starts `infra up` as a child process and waits for its ready block. */
export function upStack(dir: string, extraArgs: string[] = FREE_PORTS, timeoutMs = 30_000): Promise<RunningStack> {
  const child = spawn(process.execPath, [INFRA_BIN, 'up', '--dir', dir, ...extraArgs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`infra up not ready in ${timeoutMs} ms\nstdout: ${out}\nstderr: ${err}`));
    }, timeoutMs);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`infra up exited with ${code}\nstdout: ${out}\nstderr: ${err}`));
    });
    const check = (): void => {
      if (!out.includes('Press Ctrl-C to stop.')) return;
      clearTimeout(timer);
      child.stdout?.off('data', check);
      const file = runFiles(dir).find((f) => (JSON.parse(readFileSync(join(dir, 'data', 'run', f), 'utf8')) as StackState).pid === child.pid);
      if (!file) return reject(new Error(`infra up is ready but left no state file for pid ${child.pid}`));
      const state = JSON.parse(readFileSync(join(dir, 'data', 'run', file), 'utf8')) as StackState;
      resolve({
        child,
        stdout: () => out,
        stderr: () => err,
        state,
        port: (service, name) => {
          const e = state.endpoints[service]?.find((x) => x.name === name);
          if (!e) throw new Error(`no endpoint ${service}/${name}`);
          return e.port;
        },
        stop: async () => {
          const t = Date.now();
          child.kill('SIGTERM');
          const code = await exited;
          return { code, ms: Date.now() - t };
        },
      });
    };
    child.stdout?.on('data', check);
  });
}
