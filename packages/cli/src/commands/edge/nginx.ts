import { Flags } from '@oclif/core';
import { InfraCommand, stackFlags } from '../../base/command.js';

export default class EdgeNginx extends InfraCommand {
  static override description = 'Write an nginx config for an HLS/VOD edge cache in front of this stack (playlists 1 s, segments 24 h, stale when the origin is down)';
  static override examples = [
    '<%= config.bin %> edge nginx --origin http://10.0.0.5:8080 --out /etc/nginx/infra-edge.conf',
    'nginx -c /etc/nginx/infra-edge.conf -p /var/lib/infra-edge',
  ];
  static override flags = {
    ...stackFlags,
    origin: Flags.string({ description: 'origin gateway URL (default: http.publicUrl, else http://http.host:http.port)' }),
    listen: Flags.integer({ description: 'port the edge listens on', default: 8081, min: 1, max: 65535 }),
    out: Flags.string({ char: 'o', description: 'write the config here instead of stdout' }),
    prefix: Flags.string({ description: 'nginx prefix: pid, logs, temp files', default: '/var/lib/infra-edge' }),
    'cache-dir': Flags.string({ description: 'cache directory', default: '/var/cache/infra-edge' }),
    'max-size': Flags.string({ description: 'cache size cap (nginx syntax)', default: '10g' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(EdgeNginx);
    const [{ loadConfig, InfraError, urlHost }, { renderNginxEdge }, { writeFileSync }] = await Promise.all([import('@infra/core'), import('@infra/media'), import('node:fs')]);
    const { http } = loadConfig({ dir: flags.dir, set: flags.set }).config;
    const host = http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host;
    const origin = flags.origin ?? (http.publicUrl || `http://${urlHost(host)}:${http.port}`);
    let text: string;
    try {
      text = renderNginxEdge({ origin, listen: flags.listen, prefix: flags.prefix, cacheDir: flags['cache-dir'], maxSize: flags['max-size'] });
    } catch (err) {
      throw new InfraError('INFRA_ERR_BAD_ARGUMENT', (err as Error).message);
    }
    if (flags.out) {
      writeFileSync(flags.out, text);
      this.log(`wrote ${flags.out}: run it with nginx -c ${flags.out} -p ${flags.prefix}`);
    } else process.stdout.write(text);
  }
}
