import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createLogger, InfraError, loadConfig, RecentLines, type LoadedConfig, type Secrets, type ServiceName } from '@infra/core';
import { enabledServices, startStack } from './compose.js';
import { formatReadyBlock } from './ready-block.js';
import { isAlive, logFile, readStates, removeState, writeState, type StackState } from './state.js';

export interface UpOptions {
  dir: string;
  set: string[];
  only?: ServiceName[];
  detach?: boolean;
  version: string;
  out: (text: string) => void;
  err: (text: string) => void;
}

const CLI_BIN = fileURLToPath(new URL('../../bin/run.js', import.meta.url));
const SHUTDOWN_GRACE_MS = 8000;

function loadForUp(opts: UpOptions): LoadedConfig & { secrets: Secrets } {
  const loaded = loadConfig({ dir: opts.dir, set: opts.set, requireSecrets: true });
  const wanted = enabledServices(loaded.config.services, opts.only);
  // Processes of one stack may split the pillars between them (--only), never run the same pillar twice.
  const clash = readStates(loaded.dataDir).find((s) => s.services.some((x) => wanted.includes(x)));
  if (clash) {
    const both = clash.services.filter((x) => wanted.includes(x)).join(', ');
    throw new InfraError('INFRA_ERR_ALREADY_RUNNING', `stack "${clash.name}" already runs ${both} (pid ${clash.pid})`);
  }
  return loaded as LoadedConfig & { secrets: Secrets };
}

/** `infra up` in the foreground: start, print the ready block, run until SIGINT/SIGTERM, drain, return. */
export async function runUp(opts: UpOptions): Promise<void> {
  const loaded = loadForUp(opts);
  if (opts.detach) return runDetached(opts, loaded);

  const recent = new RecentLines(20);
  const file = logFile(loaded.dataDir);
  const logger = createLogger({ level: loaded.config.log.level, file, recent });
  const stack = await startStack({ loaded, only: opts.only, version: opts.version, logger, recent });
  const state: StackState = {
    name: loaded.config.name,
    pid: process.pid,
    dir: loaded.dir,
    startedAt: new Date().toISOString(),
    readyMs: stack.readyMs,
    host: loaded.config.http.host,
    services: stack.services,
    endpoints: stack.endpoints,
    adminToken: stack.adminToken,
    logFile: file,
  };
  writeState(loaded.dataDir, state);
  opts.out(formatReadyBlock({ name: state.name, readyMs: stack.readyMs, endpoints: stack.endpoints, adminToken: stack.adminToken, adminTokenTtl: stack.adminTokenTtl, dataDir: loaded.dataDir }));

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  logger.info({ signal }, 'shutting down');
  opts.err(`\n${signal}: stopping…`);
  const force = setTimeout(() => {
    logger.error('shutdown took too long; exiting');
    process.exit(1);
  }, SHUTDOWN_GRACE_MS);
  force.unref();
  process.once('SIGINT', () => process.exit(130)); // a second Ctrl-C does not wait
  await stack.close();
  removeState(loaded.dataDir, state);
  logger.info('stopped');
  opts.err('stopped.');
}

/** `infra up --detach`: start a background `infra up`, wait until it wrote its ready state, print the block. */
async function runDetached(opts: UpOptions, loaded: LoadedConfig): Promise<void> {
  const outFile = join(loaded.dataDir, 'logs', 'up.out');
  mkdirSync(dirname(outFile), { recursive: true });
  const fd = openSync(outFile, 'w');
  const args = [CLI_BIN, 'up', '--dir', loaded.dir, ...opts.set.flatMap((s) => ['--set', s]), ...(opts.only?.length ? ['--only', opts.only.join(',')] : [])];
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', fd, fd], env: { ...process.env, INFRA_DETACHED: '1' } });
  closeSync(fd);
  child.unref();
  const pid = child.pid ?? -1;
  let exited: number | null = null;
  child.on('exit', (code) => {
    exited = code ?? 1;
  });
  const deadline = Date.now() + loaded.config.startup.timeoutMs * 3 + 10_000;
  for (;;) {
    const state = readStates(loaded.dataDir).find((s) => s.pid === pid);
    if (state) {
      opts.out(formatReadyBlock({ name: state.name, readyMs: state.readyMs, endpoints: state.endpoints, adminToken: state.adminToken, adminTokenTtl: loaded.config.auth.devTokenTtl, dataDir: loaded.dataDir, detached: true }));
      return;
    }
    if (exited !== null || !isAlive(pid)) {
      const output = readFileSync(outFile, 'utf8').trim();
      const first = output.split('\n').find((l) => l.startsWith('error ')) ?? output.split('\n')[0] ?? '';
      const code = /^error (INFRA_ERR_[A-Z_]+): (.*)$/.exec(first);
      if (code) throw new InfraError(code[1] as 'INFRA_ERR_START_FAILED', code[2] as string, { hint: output.split('\n').slice(1).join('\n') || undefined });
      throw new InfraError('INFRA_ERR_START_FAILED', `the background stack exited: ${output.slice(-500)}`);
    }
    if (Date.now() > deadline) {
      process.kill(pid, 'SIGTERM');
      throw new InfraError('INFRA_ERR_NOT_READY', `the background stack did not become ready; see ${outFile}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}
