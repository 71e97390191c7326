import { Args } from '@oclif/core';
import { InfraError } from '@infra/core/errors';
import { InfraCommand, stackFlags } from '../../base/command.js';

export default class StreamKey extends InfraCommand {
  static override description = 'Print the OBS settings (Server and Stream Key) for a stream id';
  static override enableJsonFlag = true;
  static override args = { streamId: Args.string({ description: 'stream id (letters, digits, _ and -)', required: true }) };
  static override flags = { ...stackFlags };

  async run(): Promise<{ id: string; rtmpUrl: string; key: string; flvUrl: string }> {
    const { args, flags } = await this.parse(StreamKey);
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(args.streamId)) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `stream id "${args.streamId}": use 1-64 letters, digits, _ or -`);
    const { loadConfig, streamKeyFor, urlHost } = await import('@infra/core');
    const loaded = loadConfig({ dir: flags.dir, set: flags.set, requireSecrets: true });
    const { http, media } = loaded.config;
    const host = urlHost(http.host === '0.0.0.0' || http.host === '::' ? '127.0.0.1' : http.host);
    const result = {
      id: args.streamId,
      rtmpUrl: `rtmp://${host}:${media.rtmp.port}/live`,
      key: streamKeyFor(loaded.secrets!.streamKeySalt, args.streamId),
      flvUrl: `http://${host}:${media.http.port}/live/${args.streamId}.flv`,
    };
    this.log(`Server:     ${result.rtmpUrl}\nStream Key: ${result.key}\nWatch:      ${result.flvUrl}`);
    return result;
  }
}
