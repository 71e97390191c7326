import { InfraCommand, stackFlags } from '../base/command.js';
import type { StackStatus } from '../stack/status.js';

export default class Status extends InfraCommand {
  static override description = 'Health of the running stack of this directory (exit 1 when it is down or unhealthy)';
  static override enableJsonFlag = true;
  static override flags = { ...stackFlags };

  async run(): Promise<StackStatus> {
    const { flags } = await this.parse(Status);
    const { stackStatus } = await import('../stack/status.js');
    const status = await stackStatus({ dir: flags.dir, set: flags.set });
    const healthy = status.running && Object.values(status.services).every((s) => s.ok);
    if (!this.jsonEnabled()) {
      if (!status.running) this.log(`stack "${status.name}" is not running (start it with \`infra up\`)`);
      else {
        for (const p of status.processes) this.log(`stack "${status.name}": pid ${p.pid} runs ${p.services.join(', ')}, up ${p.uptimeSeconds}s`);
        for (const [name, s] of Object.entries(status.services)) {
          this.log(`  ${s.ok ? 'ok  ' : 'FAIL'} ${name.padEnd(7)} ${s.endpoints.map((e) => e.url).join('  ')}${s.detail ? `  — ${s.detail}` : ''}`);
        }
      }
    }
    if (!healthy) process.exitCode = 1;
    return status;
  }
}
