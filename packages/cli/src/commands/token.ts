import { Flags } from '@oclif/core';
import { roles, type Role } from '@infra/core/roles';
import { InfraCommand, stackFlags } from '../base/command.js';

export default class Token extends InfraCommand {
  static override description = 'Mint a JWT for a user id and role; prints only the token';
  static override examples = ['<%= config.bin %> token --user u1 --role user', 'TOKEN=$(<%= config.bin %> token --user rider7 --role rider --ttl 12h)', '<%= config.bin %> token --user disp1 --role merchant --merchant shop-1'];
  static override flags = {
    ...stackFlags,
    user: Flags.string({ char: 'u', description: 'user id (the MQTT username)', required: true }),
    role: Flags.string({ char: 'r', description: 'role', options: [...roles], required: true }),
    ttl: Flags.string({ description: 'lifetime, e.g. 15m, 12h, 30d (default: auth.tokenTtl)' }),
    merchant: Flags.string({ description: 'with --role merchant (required there): the merchant whose riders and jobs the token manages' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Token);
    const { loadConfig, parseDuration, TokenIssuer } = await import('@infra/core');
    const loaded = loadConfig({ dir: flags.dir, set: flags.set, requireSecrets: true });
    const secrets = loaded.secrets!;
    const token = await new TokenIssuer(secrets.jwtSecret).sign(flags.user, flags.role as Role, parseDuration(flags.ttl ?? loaded.config.auth.tokenTtl), Date.now(), flags.merchant !== undefined ? { merchant: flags.merchant } : {});
    process.stdout.write(token + '\n');
  }
}
