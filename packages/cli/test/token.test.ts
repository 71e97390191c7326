import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { TokenIssuer } from '@infra/core';
import { infra, initStack, tempDir } from './harness.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('infra token --role merchant', () => {
  it('mints a merchant staff token carrying its merchant id; without --merchant, or with it on another role, it refuses with a code', async () => {
    const dir = initStack(tmp.dir, 'delivery');
    const ok = infra(['token', '--user', 'disp1', '--role', 'merchant', '--merchant', 'shop-1', '--dir', dir]);
    expect(ok.code, ok.stderr).toBe(0);
    const secret = /^INFRA_JWT_SECRET=(.+)$/m.exec(readFileSync(join(dir, '.env'), 'utf8'))![1]!.trim();
    expect(await new TokenIssuer(secret).verify(ok.stdout.trim())).toMatchObject({ sub: 'disp1', role: 'merchant', merchant: 'shop-1' });
    const missing = infra(['token', '--user', 'disp1', '--role', 'merchant', '--dir', dir]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain('INFRA_ERR_BAD_ARGUMENT');
    const stray = infra(['token', '--user', 'u1', '--role', 'user', '--merchant', 'shop-1', '--dir', dir]);
    expect(stray.code).not.toBe(0);
    expect(stray.stderr).toContain('INFRA_ERR_BAD_ARGUMENT');
  });
});
