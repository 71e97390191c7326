import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { listTemplates, TEMPLATES_DIR, META_FILE } from './templates.js';
import { ensureSecretsFile, InfraError, SECRETS_FILE, CONFIG_FILE } from '@infra/core';

const TEXT = /\.(ya?ml|md|json|txt|csv)$/;

export interface InitResult {
  dir: string;
  template: string;
  files: string[];
  secretsWritten: string[];
}

function isEmptyDir(dir: string): boolean {
  return !existsSync(dir) || readdirSync(dir).length === 0;
}

/** A stack name from a directory name: what the config schema accepts. */
export function stackNameFor(dir: string): string {
  const cleaned = basename(resolve(dir)).replace(/[^A-Za-z0-9_.-]/g, '-').replace(/^[^A-Za-z0-9]+/, '');
  return (cleaned || 'infra').slice(0, 64);
}

function copyTree(from: string, to: string, vars: Record<string, string>, root: string, out: string[]): void {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    if (from === root && entry === META_FILE) continue;
    const src = join(from, entry);
    const dst = join(to, entry);
    if (statSync(src).isDirectory()) {
      copyTree(src, dst, vars, root, out);
    } else if (TEXT.test(entry)) {
      writeFileSync(dst, readFileSync(src, 'utf8').replace(/\{\{(\w+)\}\}/g, (m, k: string) => vars[k] ?? m));
      out.push(dst);
    } else {
      copyFileSync(src, dst);
      out.push(dst);
    }
  }
}

/** Creates a stack directory from a template: infra.yaml, flows, seed data, README, .gitignore and freshly generated secrets. */
export function scaffold(opts: { dir: string; template: string; force?: boolean; templatesDir?: string }): InitResult {
  const templatesDir = opts.templatesDir ?? TEMPLATES_DIR;
  const known = listTemplates(templatesDir).map((t) => t.name);
  if (!known.includes(opts.template)) {
    throw new InfraError('INFRA_ERR_TEMPLATE_UNKNOWN', `no template "${opts.template}"; known: ${known.join(', ')}`);
  }
  const dir = resolve(opts.dir);
  if (!isEmptyDir(dir) && !opts.force) {
    throw new InfraError('INFRA_ERR_DIR_NOT_EMPTY', `${dir} is not empty`);
  }
  const files: string[] = [];
  copyTree(join(templatesDir, opts.template), dir, { name: stackNameFor(dir), template: opts.template }, join(templatesDir, opts.template), files);
  const gitignore = join(dir, '.gitignore');
  writeFileSync(gitignore, `# secrets and runtime data of this stack\n${SECRETS_FILE}\ndata/\n`);
  files.push(gitignore);
  const secretsWritten = ensureSecretsFile(join(dir, SECRETS_FILE));
  return { dir, template: opts.template, files: files.map((f) => relative(dir, f)), secretsWritten };
}

/** `infra init --secrets-only`: add missing secrets to an existing stack. */
export function writeMissingSecrets(dir: string): string[] {
  if (!existsSync(join(dir, CONFIG_FILE))) throw new InfraError('INFRA_ERR_CONFIG_NOT_FOUND', `no ${CONFIG_FILE} in ${resolve(dir)}`);
  return ensureSecretsFile(join(dir, SECRETS_FILE));
}
