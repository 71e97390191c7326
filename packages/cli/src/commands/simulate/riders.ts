import { Flags } from '@oclif/core';
import { InfraCommand, stackFlags } from '../../base/command.js';
import type { SimulateSummary } from '../../simulate/riders.js';

export default class SimulateRiders extends InfraCommand {
  static override description = 'Drive simulated riders on the running stack over MQTT: on duty, GPS fixes, accepting offers, riding to pickups and customers, delivering with the one-time code; optionally post delivery jobs';
  static override examples = ['<%= config.bin %> simulate riders --count 50', '<%= config.bin %> simulate riders --count 5 --jobs 10 --seconds 120 --center 52.52,13.405'];
  static override enableJsonFlag = true;
  static override flags = {
    ...stackFlags,
    count: Flags.integer({ char: 'n', description: 'riders to simulate (sim-r1 … sim-rN, created if missing)', default: 10, min: 1, max: 1000 }),
    jobs: Flags.integer({ description: 'delivery jobs to post around the center during the first half of the run (0: none, dispatch jobs come from elsewhere)', default: 0, min: 0, max: 10000 }),
    seconds: Flags.integer({ description: 'stop after this many seconds (earlier when every posted job is delivered)', default: 120, min: 1, max: 86400 }),
    center: Flags.string({ description: 'lat,lng the riders and jobs are around', default: '52.52,13.405' }),
    radius: Flags.integer({ description: 'metres from the center riders start and jobs lie', default: 2000, min: 10, max: 100000 }),
    speed: Flags.integer({ description: 'riding speed in m/s', default: 8, min: 1, max: 50 }),
    'fix-ms': Flags.integer({ description: 'milliseconds between two GPS fixes of a rider', default: 1000, min: 100, max: 60000 }),
  };

  async run(): Promise<SimulateSummary> {
    const { flags } = await this.parse(SimulateRiders);
    const [{ InfraError, loadConfig, TokenIssuer }, { readStates }, { simulateRiders }] = await Promise.all([import('@infra/core'), import('../../stack/state.js'), import('../../simulate/riders.js')]);
    const m = /^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$/.exec(flags.center);
    const center = m ? { lat: Number(m[1]), lng: Number(m[2]) } : undefined;
    if (!center || Math.abs(center.lat) > 90 || Math.abs(center.lng) > 180) throw new InfraError('INFRA_ERR_BAD_ARGUMENT', `--center ${flags.center}: write lat,lng, e.g. 52.52,13.405`);
    const loaded = loadConfig({ dir: flags.dir, set: flags.set, requireSecrets: true });
    const states = readStates(loaded.dataDir);
    const api = states.flatMap((s) => s.endpoints['server'] ?? []).find((e) => e.name === 'api');
    const broker = states.flatMap((s) => s.endpoints['broker'] ?? []).find((e) => e.name === 'mqtt');
    if (!api || !broker) throw new InfraError('INFRA_ERR_NOT_RUNNING', `no running stack with the gateway and the broker in ${loaded.dir}: start it with \`infra up\``);
    const abort = new AbortController();
    process.once('SIGINT', () => abort.abort());
    const json = this.jsonEnabled();
    const summary = await simulateRiders({
      apiUrl: api.url, mqttUrl: broker.url, issuer: new TokenIssuer(loaded.secrets!.jwtSecret),
      count: flags.count, jobs: flags.jobs, seconds: flags.seconds, center, radiusM: flags.radius, speedMps: flags.speed, fixMs: flags['fix-ms'],
      say: (line) => (json ? undefined : this.log(line)), signal: abort.signal,
    });
    if (!json) {
      this.log(`\n${summary.riders} riders, ${summary.fixesSent} fixes, ${summary.routes} planned routes ridden; jobs posted ${summary.jobsPosted}, assigned ${summary.assigned}, delivered ${summary.delivered}` +
        (summary.meanDeliverySeconds !== null ? `, ${summary.meanDeliverySeconds} s from assignment to delivery on average` : ''));
      this.log(`ETA accuracy: ${JSON.stringify(summary.etaAccuracy)}`);
    }
    return summary;
  }
}
