import { InfraCommand, stackFlags } from '../base/command.js';

export default class Down extends InfraCommand {
  static override description = 'Stop a stack started with `infra up --detach` (or any running `infra up` of this directory)';
  static override enableJsonFlag = true;
  static override flags = { ...stackFlags };

  async run(): Promise<{ stopped: boolean; pids: number[] }> {
    const { flags } = await this.parse(Down);
    const { stopStack } = await import('../stack/down.js');
    const result = await stopStack({ dir: flags.dir, set: flags.set });
    this.log(result.stopped ? `stopped (pid ${result.pids.join(', ')})` : 'not running');
    return result;
  }
}
