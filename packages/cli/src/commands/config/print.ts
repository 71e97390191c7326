import { InfraCommand, stackFlags } from '../../base/command.js';

function mask(value: string | undefined): string {
  if (!value) return '(missing)';
  return `${'*'.repeat(8)}${value.slice(-4)}`;
}

export default class ConfigPrint extends InfraCommand {
  static override description = 'Print the merged config (file + defaults + ${ENV} + --set), secrets masked';
  static override enableJsonFlag = true;
  static override flags = { ...stackFlags };

  async run(): Promise<Record<string, unknown>> {
    const { flags } = await this.parse(ConfigPrint);
    const [{ stringify }, { loadConfig, secretKeys }] = await Promise.all([import('yaml'), import('@infra/core')]);
    const loaded = loadConfig({ dir: flags.dir, set: flags.set });
    const secrets = {
      [secretKeys.jwtSecret]: mask(loaded.secrets?.jwtSecret),
      [secretKeys.streamKeySalt]: mask(loaded.secrets?.streamKeySalt),
      // the key ids say which keys are in force (the first one seals); the secrets stay masked
      [secretKeys.dataKeys]: loaded.secrets?.dataKeys ? loaded.secrets.dataKeys.split(',').map((k) => `${k.split(':')[0]?.trim()}:${mask(k.split(':')[1])}`).join(',') : mask(undefined),
    };
    const merged = { ...loaded.config, secrets };
    if (!this.jsonEnabled()) this.log(`# ${loaded.file} (merged; secrets from ${loaded.secretsFile}, masked)\n${stringify(merged)}`);
    return merged;
  }
}
