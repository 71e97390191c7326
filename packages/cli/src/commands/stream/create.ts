import { Args, Flags } from '@oclif/core';
import { InfraCommand, stackFlags } from '../../base/command.js';
import type { CreatedStream } from '../../stream/create.js';

export default class StreamCreate extends InfraCommand {
  static override description = 'Create a stream on the running stack and print what OBS needs (Server, Stream Key) and the playback URLs';
  static override examples = ['<%= config.bin %> stream create launch', '<%= config.bin %> stream create launch --ttl 12h --json'];
  static override enableJsonFlag = true;
  static override args = { name: Args.string({ description: 'a label for the stream (the id is generated)', required: true }) };
  static override flags = {
    ...stackFlags,
    ttl: Flags.string({ description: 'stream key lifetime, e.g. 12h or 30d (default: media.streamKeyTtl)' }),
  };

  async run(): Promise<CreatedStream> {
    const { args, flags } = await this.parse(StreamCreate);
    const { createStream } = await import('../../stream/create.js');
    const s = await createStream({ dir: flags.dir, set: flags.set, name: args.name, ...(flags.ttl ? { ttl: flags.ttl } : {}) });
    this.log(`Server:     ${s.rtmpUrl}\nStream Key: ${s.key}\nHLS:        ${s.hlsUrl}\nHTTP-FLV:   ${s.flvUrl}\n(the key is shown once; rotate it with POST /api/v1/media/streams/${s.id}/key)`);
    return s;
  }
}
