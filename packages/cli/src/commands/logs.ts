import { Args, Flags } from '@oclif/core';
import { serviceNames } from '@infra/core/lifecycle';
import { InfraCommand, stackFlags } from '../base/command.js';

export default class Logs extends InfraCommand {
  static override description = 'Show the stack’s logs (all services, or one)';
  static override examples = ['<%= config.bin %> logs', '<%= config.bin %> logs broker -f', '<%= config.bin %> logs --raw | jq .'];
  static override args = { service: Args.string({ description: 'only this service', options: [...serviceNames, 'infra'] }) };
  static override flags = {
    ...stackFlags,
    follow: Flags.boolean({ char: 'f', description: 'keep printing new lines', default: false }),
    lines: Flags.integer({ char: 'n', description: 'how many recent lines to show', default: 100 }),
    raw: Flags.boolean({ description: 'print the JSON lines as stored', default: false }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Logs);
    const [{ loadConfig }, { showLogs }, { logFile }] = await Promise.all([import('@infra/core'), import('../stack/logs.js'), import('../stack/state.js')]);
    const loaded = loadConfig({ dir: flags.dir, set: flags.set });
    const ac = new AbortController();
    process.once('SIGINT', () => ac.abort());
    process.once('SIGTERM', () => ac.abort());
    await showLogs({ file: logFile(loaded.dataDir), service: args.service, lines: flags.lines, follow: flags.follow, raw: flags.raw, out: (s) => this.log(s), signal: ac.signal });
  }
}
