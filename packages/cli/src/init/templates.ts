import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Kept free of heavy imports: `infra --help` and every command load this to describe --template.

/** templates/ at the repository root (packages/cli/dist/init -> ../../../../templates). */
export const TEMPLATES_DIR = fileURLToPath(new URL('../../../../templates/', import.meta.url));
export const META_FILE = 'template.json';

export interface TemplateInfo {
  name: string;
  description: string;
}

export function listTemplates(dir: string = TEMPLATES_DIR): TemplateInfo[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'infra.yaml')))
    .map((d) => {
      const meta = join(dir, d.name, META_FILE);
      const description = existsSync(meta) ? String((JSON.parse(readFileSync(meta, 'utf8')) as { description?: string }).description ?? '') : '';
      return { name: d.name, description };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

