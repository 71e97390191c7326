import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { assertPortsFree, isInfraError, loadConfig, portKeys as portKeyService, portOf, type LoadedConfig, type PortKey } from '@infra/core';
import { locateFfmpeg } from '@infra/media';
import { enabledServices } from './compose.js';
import { readStates } from './state.js';

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /** skipped checks neither pass nor fail */
  skipped?: boolean;
}

const MIN_NODE: [number, number] = [20, 19];

/** What `infra up` needs from this machine, checked one by one. */
export async function runDoctor(opts: { dir: string; set: string[]; nodeVersion?: string }): Promise<Check[]> {
  const checks: Check[] = [];
  const nodeVersion = opts.nodeVersion ?? process.versions.node;
  const [major = 0, minor = 0] = nodeVersion.split('.').map(Number);
  const nodeOk = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  checks.push({ name: 'node', ok: nodeOk, detail: `v${nodeVersion}${nodeOk ? '' : ` (need >= ${MIN_NODE.join('.')})`}` });

  let loaded: LoadedConfig | undefined;
  const configFile = join(opts.dir, 'infra.yaml');
  if (!existsSync(configFile)) {
    checks.push({ name: 'config', ok: true, skipped: true, detail: `no infra.yaml in ${opts.dir}: stack checks skipped` });
  } else {
    try {
      loaded = loadConfig({ dir: opts.dir, set: opts.set });
      checks.push({ name: 'config', ok: true, detail: `${loaded.file} is valid` });
      checks.push(loaded.secrets ? { name: 'secrets', ok: true, detail: `${loaded.secretsFile} has every secret` } : { name: 'secrets', ok: false, detail: `secrets missing in ${loaded.secretsFile}; run \`infra init --secrets-only\`` });
    } catch (err) {
      checks.push({ name: 'config', ok: false, detail: isInfraError(err) ? err.toLine() : (err as Error).message });
    }
  }

  try {
    const ff = await locateFfmpeg(loaded?.config.media.ffmpeg ?? '');
    checks.push({ name: 'ffmpeg', ok: true, detail: `${ff.version} (${ff.source}: ${ff.path})` });
  } catch (err) {
    checks.push({ name: 'ffmpeg', ok: false, detail: (err as Error).message });
  }

  if (loaded) {
    const { config, dataDir } = loaded;
    const running = readStates(dataDir);
    const services = enabledServices(config.services);
    const keys = (Object.keys(portKeyService) as PortKey[]).filter((key) => services.includes(portKeyService[key]));
    for (const key of keys) {
      const port = portOf(config, key);
      const holder = running.find((s) => s.endpoints[portKeyService[key]]?.some((e) => e.configKey === key));
      if (holder) {
        checks.push({ name: `port ${key}`, ok: true, skipped: true, detail: `${port}: held by this stack (pid ${holder.pid})` });
        continue;
      }
      try {
        await assertPortsFree(config.http.host, [{ key, port }]);
        checks.push({ name: `port ${key}`, ok: true, detail: port === 0 ? 'any free port' : `${port} is free` });
      } catch (err) {
        checks.push({ name: `port ${key}`, ok: false, detail: (err as Error).message });
      }
    }
    try {
      mkdirSync(dataDir, { recursive: true });
      accessSync(dataDir, constants.W_OK);
      checks.push({ name: 'data.dir', ok: true, detail: `${dataDir} is writable` });
    } catch (err) {
      checks.push({ name: 'data.dir', ok: false, detail: `${dataDir}: ${(err as Error).message}` });
    }
  }
  return checks;
}
