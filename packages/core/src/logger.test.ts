import { describe, expect, it } from 'vitest';
import { createLogger, RecentLines } from './logger.js';

describe('RecentLines', () => {
  it('keeps the last N lines of each service, by the service binding only', async () => {
    const recent = new RecentLines(2);
    const log = createLogger({ recent });
    const broker = log.child({ service: 'broker' });
    for (const n of [1, 2, 3]) broker.info(`b${n}`);
    log.child({ service: 'server' }).info({ note: '"service":"fake"' }, 'quoted text is not a binding');
    log.info('no service');
    await new Promise((r) => setTimeout(r, 20));
    expect(recent.lines('broker').map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['b2', 'b3']);
    expect(recent.lines('server')).toHaveLength(1);
    expect(recent.lines('infra').map((l) => (JSON.parse(l) as { msg: string }).msg)).toEqual(['no service']);
    expect(recent.lines('fake')).toEqual([]);
  });
});
