import { Flags } from '@oclif/core';
import { InfraError } from '@infra/core/errors';
import { InfraCommand } from '../../base/command.js';

export default class BenchDispatch extends InfraCommand {
  static override description = 'Solve a Solomon VRPTW or Li & Lim PDPTW instance with the routing solver, check the plan, report vehicles, distance and gap';
  static override examples = [
    '<%= config.bin %> bench dispatch --instance C101.txt --time-limit 5 --bks 828.94',
    '<%= config.bin %> bench dispatch --instance lc101.txt --json',
  ];
  static override flags = {
    instance: Flags.string({ char: 'i', description: 'instance file (Solomon or Li & Lim format, detected)', required: true }),
    'time-limit': Flags.string({ char: 't', description: 'seconds for the whole solve (construction, then improvement until then)', default: '5' }),
    bks: Flags.string({ description: 'best known distance, to print the gap' }),
    seed: Flags.integer({ description: 'seed of the search (same seed, same search)', default: 1 }),
    json: Flags.boolean({ description: 'print one JSON object {vehicles, distance, timeMs, routes}', default: false }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(BenchDispatch);
    const seconds = Number(flags['time-limit']);
    if (!Number.isFinite(seconds) || seconds < 0) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `--time-limit must be a number of seconds >= 0, got ${flags['time-limit']}`);
    const bks = flags.bks === undefined ? undefined : Number(flags.bks);
    if (bks !== undefined && !(bks > 0)) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `--bks must be a positive distance, got ${flags.bks}`);
    const { runDispatchBench } = await import('@infra/server/routing');
    const r = await runDispatchBench({ instance: flags.instance, timeLimitMs: seconds * 1000, seed: flags.seed, ...(bks !== undefined ? { bks } : {}) });
    if (flags.json) {
      process.stdout.write(JSON.stringify({ vehicles: r.vehicles, distance: r.distance, timeMs: r.timeMs, routes: r.routes }) + '\n');
      return;
    }
    this.log(`instance  ${r.name} (${r.format}, ${r.requests} ${r.format === 'lilim' ? 'pairs' : 'customers'}, fleet ${r.fleet})`);
    this.log(`vehicles  ${r.vehicles}`);
    this.log(`distance  ${r.distance.toFixed(2)}${r.gapPercent !== undefined ? `  (gap ${r.gapPercent >= 0 ? '+' : ''}${r.gapPercent.toFixed(2)}% to ${bks})` : ''}`);
    this.log(`time      ${(r.timeMs / 1000).toFixed(2)} s (${r.iterations} iterations; construction ${r.construction.vehicles} vehicles, ${r.construction.distance.toFixed(2)})`);
    this.log('feasible  yes (checked independently)');
  }
}
