import { InfraCommand, stackFlags } from '../../base/command.js';

export default class FlowsValidate extends InfraCommand {
  static override description = 'Check every flows/*.yaml of the stack: unknown states, actions, roles, duplicate transitions, unreachable states (file:line)';
  static override examples = ['<%= config.bin %> flows validate', '<%= config.bin %> flows validate --dir ./shop --json'];
  static override enableJsonFlag = true;
  static override flags = { ...stackFlags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(FlowsValidate);
    const { stackFlows, describeFlows } = await import('../../flows/run.js');
    const { flows } = stackFlows(flags.dir, flags.set);
    const summary = describeFlows(flows);
    if (!this.jsonEnabled()) {
      if (summary.length === 0) this.log('no flows/*.yaml in this stack (the built-in order flow is used)');
      for (const f of summary) this.log(`ok ${f.flow}: ${f.states} states, ${f.transitions} transitions, ${f.timeouts} timeout(s) (${f.file})`);
    }
    return { flows: summary };
  }
}
