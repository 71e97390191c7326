import { afterAll, describe, expect, it } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnvFile } from '@infra/core';
import { INFRA_BIN, infra, tempDir } from './harness.js';

const tmp = tempDir();
afterAll(() => tmp.cleanup());

describe('infra init', () => {
  for (const template of ['commerce', 'delivery', 'live', 'minimal']) {
    it(`${template}: writes a stack whose config validates, with fresh git-ignored secrets`, () => {
      const dir = join(tmp.dir, template);
      const r = infra(['init', dir, '--template', template, '--json']);
      expect(r.code).toBe(0);
      const result = JSON.parse(r.stdout) as { template: string; files: string[]; secretsWritten: string[] };
      expect(result.template).toBe(template);
      expect(result.files).toContain('infra.yaml');
      expect(result.files).toContain('README.md');
      expect(result.secretsWritten.sort()).toEqual(['INFRA_DATA_KEYS', 'INFRA_JWT_SECRET', 'INFRA_STREAM_KEY_SALT']);
      expect(infra(['config', 'validate', '--dir', dir]).code).toBe(0);
      expect(readFileSync(join(dir, 'infra.yaml'), 'utf8')).toContain(`name: ${template}`);
      expect(readFileSync(join(dir, '.gitignore'), 'utf8').split('\n')).toContain('.env');
      expect(statSync(join(dir, '.env')).mode & 0o777).toBe(0o600);
      expect(existsSync(join(dir, 'template.json'))).toBe(false);
    });
  }

  it('generates different secrets for every stack', () => {
    const a = parseEnvFile(readFileSync(join(tmp.dir, 'commerce', '.env'), 'utf8'));
    const b = parseEnvFile(readFileSync(join(tmp.dir, 'delivery', '.env'), 'utf8'));
    expect(a['INFRA_JWT_SECRET']).toBeTruthy();
    expect(a['INFRA_JWT_SECRET']).not.toBe(b['INFRA_JWT_SECRET']);
    expect(a['INFRA_STREAM_KEY_SALT']).not.toBe(b['INFRA_STREAM_KEY_SALT']);
    expect(a['INFRA_DATA_KEYS']).not.toBe(b['INFRA_DATA_KEYS']);
  });

  it('refuses a non-empty directory unless --force, and --force keeps existing secrets', () => {
    const dir = join(tmp.dir, 'busy');
    mkdirSync(dir);
    writeFileSync(join(dir, 'notes.txt'), 'mine');
    const refused = infra(['init', dir, '--template', 'minimal']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^error INFRA_ERR_DIR_NOT_EMPTY: /);
    expect(existsSync(join(dir, 'infra.yaml'))).toBe(false);

    expect(infra(['init', dir, '--template', 'minimal', '--force']).code).toBe(0);
    const before = readFileSync(join(dir, '.env'), 'utf8');
    expect(infra(['init', dir, '--template', 'minimal', '--force']).code).toBe(0);
    expect(readFileSync(join(dir, '.env'), 'utf8')).toBe(before);
    expect(readFileSync(join(dir, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('never asks without a TTY: no --template means the default template', () => {
    const dir = join(tmp.dir, 'quiet');
    const r = infra(['init', dir]);
    expect(r.code).toBe(0);
    expect(readFileSync(join(dir, 'infra.yaml'), 'utf8')).toContain('template: commerce');
  });

  it('asks for the template on a TTY, re-asking after a bad answer', async (ctx) => {
    // util-linux `script` gives the command a real pseudo-terminal, as a person's shell would
    if (spawnSync('script', ['--version']).status !== 0) {
      console.log('skipped: util-linux `script` is not installed, so no pseudo-terminal can be made');
      ctx.skip();
    }
    const dir = join(tmp.dir, 'asked');
    const child = spawn('script', ['-qfec', `${process.execPath} ${INFRA_BIN} init ${dir}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let prompts = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      const seen = out.split('Template [').length - 1;
      if (seen > prompts) {
        prompts = seen;
        child.stdin.write(prompts === 1 ? '9\n' : 'live\n'); // 9 is not a template: asked again
      }
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(0);
    expect(prompts).toBe(2);
    expect(out).toContain('3) live');
    expect(readFileSync(join(dir, 'infra.yaml'), 'utf8')).toContain('template: live');
  });

  it('names an unknown template and lists the known ones', () => {
    const r = infra(['init', join(tmp.dir, 'nope'), '--template', 'shopp']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^error INFRA_ERR_TEMPLATE_UNKNOWN: .*commerce, delivery, live, minimal/);
  });
});
