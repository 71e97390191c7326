import { InfraCommand, stackFlags } from '../../base/command.js';

export default class ConfigValidate extends InfraCommand {
  static override description = 'Validate infra.yaml (and --set overrides); errors name file, line, column and key';
  static override enableJsonFlag = true;
  static override flags = { ...stackFlags };

  async run(): Promise<{ valid: true; file: string; secrets: boolean }> {
    const { flags } = await this.parse(ConfigValidate);
    const { loadConfig } = await import('@infra/core');
    const loaded = loadConfig({ dir: flags.dir, set: flags.set, requireSecrets: true });
    this.log(`ok: ${loaded.file} is valid`);
    return { valid: true, file: loaded.file, secrets: true };
  }
}
