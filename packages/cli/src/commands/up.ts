import { Flags } from '@oclif/core';
import { InfraError } from '@infra/core/errors';
import { serviceNames, type ServiceName } from '@infra/core/lifecycle';
import { InfraCommand, stackFlags } from '../base/command.js';

export default class Up extends InfraCommand {
  static override description = 'Start the stack: HTTP gateway, MQTT broker and media server, in one process';
  static override examples = ['<%= config.bin %> up', '<%= config.bin %> up --set http.port=18080 --set mqtt.port=0', '<%= config.bin %> up --only broker', '<%= config.bin %> up --detach'];
  static override flags = {
    ...stackFlags,
    only: Flags.string({ description: 'run only these pillars (comma-separated: server,broker,media), for scale-out' }),
    detach: Flags.boolean({ description: 'run in the background; stop with `infra down`', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Up);
    const only = flags.only?.split(',').map((s) => s.trim()).filter(Boolean);
    for (const s of only ?? []) {
      if (!(serviceNames as readonly string[]).includes(s)) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `--only ${s}: expected one of ${serviceNames.join(', ')}`);
    }
    const { runUp } = await import('../stack/up.js');
    await runUp({
      dir: flags.dir,
      set: flags.set,
      only: only as ServiceName[] | undefined,
      detach: flags.detach,
      version: this.config.version,
      out: (t) => process.stdout.write(t + '\n'),
      err: (t) => process.stderr.write(t + '\n'),
    });
    if (!flags.detach) process.exit(0); // drained; do not wait on stray handles of third-party servers
  }
}
