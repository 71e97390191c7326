import { Args, Flags } from '@oclif/core';
import { createInterface } from 'node:readline/promises';
import { InfraCommand } from '../base/command.js';
import { listTemplates } from '../init/templates.js';
import type { InitResult } from '../init/scaffold.js';
import type { DevCertResult } from '../init/tls.js';

const DEFAULT_TEMPLATE = 'commerce';

export default class Init extends InfraCommand {
  static override description = 'Create a stack directory from a template (infra.yaml, flows, seed data, secrets)';
  static override examples = ['<%= config.bin %> init shop --template commerce', '<%= config.bin %> init rides --template delivery --yes', '<%= config.bin %> init . --secrets-only', '<%= config.bin %> init shop --tls'];
  static override enableJsonFlag = true;
  static override args = { dir: Args.string({ description: 'directory to create (must be empty unless --force)', default: '.' }) };
  static override flags = {
    template: Flags.string({ char: 't', description: `template: ${listTemplates().map((t) => t.name).join(', ')} (asked on a TTY, else ${DEFAULT_TEMPLATE})` }),
    force: Flags.boolean({ description: 'write into a non-empty directory (existing files with the same names are overwritten; existing secrets are kept)', default: false }),
    yes: Flags.boolean({ char: 'y', description: 'accept every default, never ask', default: false }),
    'secrets-only': Flags.boolean({ description: 'only generate the missing secrets of an existing stack', default: false }),
    tls: Flags.boolean({ description: 'also write a self-signed development certificate (tls/cert.pem, tls/key.pem) and turn on HTTPS, WSS and mqtts in infra.yaml', default: false }),
  };

  async run(): Promise<(InitResult | { dir: string; secretsWritten: string[] }) & { tls?: DevCertResult }> {
    const { args, flags } = await this.parse(Init);
    const { scaffold, writeMissingSecrets } = await import('../init/scaffold.js');
    const devCert = async (dir: string): Promise<DevCertResult | undefined> => {
      if (!flags.tls) return undefined;
      const { writeDevCert } = await import('../init/tls.js');
      const tls = await writeDevCert(dir);
      this.log(`wrote a self-signed development certificate: ${tls.cert} (sha1 ${tls.fingerprint}), key ${tls.key}${tls.configured ? '; infra.yaml now serves HTTPS, WSS and mqtts' : '; infra.yaml already had a tls: section, left as it was'}`);
      return tls;
    };
    if (flags['secrets-only']) {
      const written = writeMissingSecrets(args.dir);
      this.log(written.length ? `wrote ${written.join(', ')} to ${args.dir}/.env` : 'every secret is already there');
      const tls = await devCert(args.dir);
      return { dir: args.dir, secretsWritten: written, ...(tls ? { tls } : {}) };
    }
    const template = flags.template ?? (await this.askTemplate(flags.yes));
    const result = scaffold({ dir: args.dir, template, force: flags.force });
    this.log(`created ${result.dir} from template "${template}" (${result.files.length} files, secrets in .env)`);
    const tls = await devCert(result.dir);
    this.log(`\nnext:\n  cd ${args.dir}\n  npx infra up`);
    return { ...result, ...(tls ? { tls } : {}) };
  }

  private async askTemplate(yes: boolean): Promise<string> {
    if (yes || !process.stdin.isTTY || this.jsonEnabled()) return DEFAULT_TEMPLATE;
    const templates = listTemplates();
    this.log('Templates:');
    templates.forEach((t, i) => this.log(`  ${i + 1}) ${t.name.padEnd(10)} ${t.description}`));
    const rl = createInterface({ input: process.stdin, output: process.stdout });
    try {
      const defaultIndex = Math.max(0, templates.findIndex((t) => t.name === DEFAULT_TEMPLATE)) + 1;
      for (;;) {
        const answer = (await rl.question(`Template [${defaultIndex}]: `)).trim();
        if (answer === '') return templates[defaultIndex - 1]?.name ?? DEFAULT_TEMPLATE;
        const byIndex = templates[Number(answer) - 1];
        const byName = templates.find((t) => t.name === answer);
        const pick = byName ?? byIndex;
        if (pick) return pick.name;
        this.log(`pick 1-${templates.length} or a name`);
      }
    } finally {
      rl.close();
    }
  }
}
