import { InfraCommand, stackFlags } from '../base/command.js';

export default class Seed extends InfraCommand {
  static override description = 'Load the stack’s seed/*.yaml (warehouses, bins, SKUs, stock, riders) into fulfillment.db; safe to run again';
  static override examples = ['<%= config.bin %> seed', '<%= config.bin %> seed --dir ./shop --json'];
  static override enableJsonFlag = true;
  static override flags = { ...stackFlags };

  async run(): Promise<unknown> {
    const { flags } = await this.parse(Seed);
    const { loadConfig } = await import('@infra/core');
    const { seedStack } = await import('@infra/server/seed');
    const loaded = loadConfig({ dir: flags.dir, set: flags.set });
    const summary = await seedStack({ stackDir: loaded.dir, dataDir: loaded.dataDir });
    if (!this.jsonEnabled()) {
      if (summary.files.length === 0) this.log('no seed/*.yaml in this stack');
      else this.log(`seeded ${summary.warehouses} warehouse(s), ${summary.locations} bin(s), ${summary.skus} SKU(s), ${summary.stockLines} stock line(s), ${summary.riders} rider(s)${summary.skipped ? `; kept ${summary.skipped} existing` : ''}`);
    }
    return summary;
  }
}
