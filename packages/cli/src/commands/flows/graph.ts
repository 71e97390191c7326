import { Args } from '@oclif/core';
import { InfraCommand, stackFlags } from '../../base/command.js';

export default class FlowsGraph extends InfraCommand {
  static override description = 'Print a flow as a Mermaid state diagram';
  static override examples = ['<%= config.bin %> flows graph order > order.mmd'];
  static override args = { flow: Args.string({ description: 'flow name (the `flow:` key)', required: true }) };
  static override flags = { ...stackFlags };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(FlowsGraph);
    const { stackFlows, graphOf } = await import('../../flows/run.js');
    process.stdout.write(graphOf(stackFlows(flags.dir, flags.set).flows, args.flow));
  }
}
