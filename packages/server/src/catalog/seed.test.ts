import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { seedStack } from './seed.js';
import { startFulfillment } from '../testing/fulfillment-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'infra-seed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('seed', () => {
  it('loads the commerce seed through receipts (ledger rows), and a second run keeps everything', async () => {
    cpSync(fileURLToPath(new URL('../../../../templates/commerce/seed', import.meta.url)), join(dir, 'seed'), { recursive: true });
    const first = await seedStack({ stackDir: dir, dataDir: join(dir, 'data') });
    expect(first).toMatchObject({ warehouses: 1, locations: 3, skus: 3, stockLines: 4, skipped: 0 });
    const again = await seedStack({ stackDir: dir, dataDir: join(dir, 'data') });
    expect(again).toMatchObject({ warehouses: 0, locations: 0, skus: 0, stockLines: 0, skipped: 11 });
    const h = await startFulfillment({ dir });
    try {
      const admin = await h.token('admin', 'admin');
      const stock = (await h.call('GET', '/wms/stock?sku=COFFEE-1KG', { token: admin })).body;
      expect(stock).toMatchObject({ onHand: 20, available: 20 });
      expect(stock.byLot.map((l: { lot: string }) => l.lot).sort()).toEqual(['L2026-10', 'L2026-11']);
      const trace = (await h.call('GET', '/wms/trace?sku=TSHIRT-M', { token: admin })).body.movements;
      expect(trace).toEqual([expect.objectContaining({ kind: 'receipt', qty: 50, actor: 'infra-seed' })]);
    } finally {
      await h.close();
    }
  });

  it('refuses a bad seed file with its path, writing nothing', async () => {
    const bad = mkdtempSync(join(tmpdir(), 'infra-seed-bad-'));
    try {
      mkdirSync(join(bad, 'seed'));
      writeFileSync(join(bad, 'seed', 'x.yaml'), 'skus:\n  - { sku: A, name: A, price: -1 }\nstock:\n  - { sku: A, location: WH1:A/01/01, qty: 1, expiresAt: someday }\n');
      await expect(seedStack({ stackDir: bad, dataDir: join(bad, 'data') })).rejects.toMatchObject({ code: 'INFRA_ERR_VALIDATION', details: [expect.objectContaining({ path: '/skus/0/price' }), expect.objectContaining({ path: '/stock/0/expiresAt' })] });
    } finally {
      rmSync(bad, { recursive: true, force: true });
    }
  });
});
