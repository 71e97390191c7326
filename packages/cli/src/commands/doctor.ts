import { InfraCommand, stackFlags } from '../base/command.js';
import type { Check } from '../stack/doctor.js';

export default class Doctor extends InfraCommand {
  static override description = 'Check this machine and stack: Node version, ffmpeg, ports, data dir, config, secrets';
  static override enableJsonFlag = true;
  static override flags = { ...stackFlags };

  async run(): Promise<{ ok: boolean; checks: Check[] }> {
    const { flags } = await this.parse(Doctor);
    const { runDoctor } = await import('../stack/doctor.js');
    const checks = await runDoctor({ dir: flags.dir, set: flags.set });
    const ok = checks.every((c) => c.ok);
    for (const c of checks) this.log(`${c.skipped ? 'skip' : c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(20)} ${c.detail}`);
    if (!ok) process.exitCode = 1;
    return { ok, checks };
  }
}
