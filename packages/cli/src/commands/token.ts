import { Flags } from '@oclif/core';
import { roles, type Role } from '@infra/core/roles';
import { InfraCommand, stackFlags } from '../base/command.js';

export default class Token extends InfraCommand {
  static override description = 'Mint a JWT for a user id and role; prints only the token';
  static override examples = ['<%= config.bin %> token --user u1 --role user', 'TOKEN=$(<%= config.bin %> token --user rider7 --role rider --ttl 12h)'];
  static override flags = {
    ...stackFlags,
    user: Flags.string({ char: 'u', description: 'user id (the MQTT username)', required: true }),
    role: Flags.string({ char: 'r', description: 'role', options: [...roles], required: true }),
    ttl: Flags.string({ description: 'lifetime, e.g. 15m, 12h, 30d (default: auth.tokenTtl)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Token);
    const { loadConfig, parseDuration, TokenIssuer } = await import('@infra/core');
    const loaded = loadConfig({ dir: flags.dir, set: flags.set, requireSecrets: true });
    const secrets = loaded.secrets!;
    const token = await new TokenIssuer(secrets.jwtSecret).sign(flags.user, flags.role as Role, parseDuration(flags.ttl ?? loaded.config.auth.tokenTtl));
    process.stdout.write(token + '\n');
  }
}
