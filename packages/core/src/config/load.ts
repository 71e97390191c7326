import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseDocument, parse as parseYaml, isMap, isSeq, isScalar, isPair, visit, LineCounter, type Document, type Node } from 'yaml';
import { Value } from '@sinclair/typebox/value';
import type { TSchema } from '@sinclair/typebox';
import { ConfigSchema, type InfraConfig } from './schema.js';
import { InfraError, type ErrorDetail } from '../errors.js';
import { nearest } from './suggest.js';
import { readEnvFile, resolveSecrets, SECRETS_FILE, type Secrets } from './secrets.js';

export const CONFIG_FILE = 'infra.yaml';

export interface LoadOptions {
  /** the stack directory (holds infra.yaml and .env); default: cwd */
  dir?: string;
  /** `--set key.path=value` overrides, applied after the file */
  set?: string[];
  /** environment for ${VAR} interpolation and secrets; default process.env */
  env?: Record<string, string | undefined>;
  /** refuse to load without secrets (infra up does; config print does not) */
  requireSecrets?: boolean;
}

export interface LoadedConfig {
  config: InfraConfig;
  /** absolute path of infra.yaml */
  file: string;
  /** absolute stack directory */
  dir: string;
  /** absolute data directory */
  dataDir: string;
  secretsFile: string;
  /** undefined when not required and absent */
  secrets: Secrets | undefined;
}

interface Located {
  line: number;
  column: number;
}

/** Loads, interpolates, overrides and validates infra.yaml. Every failure is an InfraError naming file:line:column and key. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const dir = resolve(opts.dir ?? process.cwd());
  const file = join(dir, CONFIG_FILE);
  if (!existsSync(file)) {
    throw new InfraError('INFRA_ERR_CONFIG_NOT_FOUND', `no ${CONFIG_FILE} in ${dir}`);
  }
  const secretsFile = join(dir, SECRETS_FILE);
  const env = { ...readEnvFile(secretsFile), ...(opts.env ?? process.env) };
  const config = parseConfigText(readFileSync(file, 'utf8'), file, env, opts.set ?? []);
  const secrets = opts.requireSecrets ? resolveSecrets(env, secretsFile) : tryResolveSecrets(env, secretsFile);
  return { config, file, dir, dataDir: resolve(dir, config.data.dir), secretsFile, secrets };
}

function tryResolveSecrets(env: Record<string, string | undefined>, file: string): Secrets | undefined {
  try {
    return resolveSecrets(env, file);
  } catch {
    return undefined;
  }
}

/** The pure part of loading: text in, validated config out. */
export function parseConfigText(text: string, file: string, env: Record<string, string | undefined>, set: string[]): InfraConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true, uniqueKeys: true });
  const pos = (node: Node | null | undefined): Located | undefined => {
    if (!node?.range) return undefined;
    const p = lineCounter.linePos(node.range[0]);
    return { line: p.line, column: p.col };
  };

  if (doc.errors.length > 0) {
    const details = doc.errors.map((e): ErrorDetail => ({
      message: e.message.split('\n')[0] ?? e.message,
      file,
      line: e.linePos?.[0].line,
      column: e.linePos?.[0].col,
    }));
    const first = details[0] as ErrorDetail;
    throw new InfraError('INFRA_ERR_CONFIG_SYNTAX', `${where(file, first)}: ${first.message}`, { details });
  }
  if (doc.contents !== null && !isMap(doc.contents)) {
    throw new InfraError('INFRA_ERR_CONFIG_INVALID', `${where(file, pos(doc.contents as Node))}: the file must be a mapping of keys (version: 1, http: …)`);
  }

  interpolateEnv(doc, env, file, pos);
  const raw = (doc.toJS() ?? {}) as Record<string, unknown>;

  const unknown = findUnknownKeys(raw, ConfigSchema, []);
  if (unknown.length > 0) {
    const details = unknown.map(({ path, suggestion }): ErrorDetail => {
      const loc = pos(locateKey(doc, path));
      const key = path.join('.');
      return { path: key, file, line: loc?.line, column: loc?.column, message: `unknown key "${key}"${suggestion ? ` — did you mean "${[...path.slice(0, -1), suggestion].join('.')}"?` : ''}` };
    });
    const first = details[0] as ErrorDetail;
    throw new InfraError('INFRA_ERR_CONFIG_UNKNOWN_KEY', `${where(file, first)}: ${first.message}`, { details });
  }

  for (const assignment of set) applySet(raw, assignment);

  const withDefaults = Value.Default(ConfigSchema, Value.Clone(raw)) as Record<string, unknown>;
  const errors = [...Value.Errors(ConfigSchema, withDefaults)];
  if (errors.length > 0) {
    const seen = new Set<string>();
    const details: ErrorDetail[] = [];
    for (const e of errors) {
      const path = e.path.split('/').filter(Boolean).map(unescapePointer);
      const key = path.join('.') || '(root)';
      if (seen.has(key)) continue; // unions report once per branch; one line per key is enough
      seen.add(key);
      // same key parsing as applySet, which trims around the key
      const fromSet = set.some((s) => s.includes('=') && s.slice(0, s.indexOf('=')).trim() === key);
      const loc = fromSet ? undefined : pos(locateValue(doc, path));
      details.push({
        path: key,
        file: fromSet ? '--set' : file,
        line: loc?.line,
        column: loc?.column,
        message: `${key}: expected ${describeSchema(e.schema)}, got ${JSON.stringify(e.value) ?? 'nothing'}`,
      });
    }
    const first = details[0] as ErrorDetail;
    throw new InfraError('INFRA_ERR_CONFIG_INVALID', `${where(first.file ?? file, first)}: ${first.message}`, { details });
  }
  return withDefaults as InfraConfig;
}

function where(file: string, loc: { line?: number | undefined; column?: number | undefined } | undefined): string {
  if (!loc?.line) return file;
  return `${file}:${loc.line}:${loc.column ?? 1}`;
}

function unescapePointer(s: string): string {
  return s.replace(/~1/g, '/').replace(/~0/g, '~');
}

const ENV_REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

/** Replaces ${VAR} and ${VAR:-default} in string scalars. A value that is a single reference is re-read as YAML, so `port: ${PORT}` is a number. */
function interpolateEnv(doc: Document, env: Record<string, string | undefined>, file: string, pos: (n: Node) => Located | undefined): void {
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value !== 'string' || !node.value.includes('$')) return;
      const source = node.value;
      const whole = /^\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}$/.exec(source);
      const lookup = (name: string, fallback: string | undefined): string => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (fallback !== undefined) return fallback;
        const loc = pos(node);
        throw new InfraError('INFRA_ERR_CONFIG_ENV_MISSING', `${where(file, loc)}: environment variable ${name} is not set`, {
          details: [{ message: `environment variable ${name} is not set`, file, line: loc?.line, column: loc?.column }],
        });
      };
      if (whole) {
        const value = lookup(whole[1] as string, whole[2]);
        node.value = numberOrBoolean(value) ?? value;
        return;
      }
      node.value = source.replace(ENV_REF, (m, name: string | undefined, fallback: string | undefined) => (m === '$$' ? '$' : lookup(name as string, fallback)));
    },
  });
}

/** The number or boolean a variable's value spells as YAML, else undefined (values like `@x` or `[a` are plain strings, not YAML errors). */
function numberOrBoolean(value: string): number | boolean | undefined {
  let parsed: unknown;
  try {
    parsed = parseYaml(value);
  } catch {
    return undefined;
  }
  return typeof parsed === 'number' || typeof parsed === 'boolean' ? parsed : undefined;
}

interface UnknownKey {
  path: string[];
  suggestion: string | undefined;
}

/** Walks the value beside the schema and lists every key the schema does not know. */
function findUnknownKeys(value: unknown, schema: TSchema, path: string[]): UnknownKey[] {
  const props = (schema as { properties?: Record<string, TSchema> }).properties;
  if (!props || value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const out: UnknownKey[] = [];
  const known = Object.keys(props);
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    // own keys only: `constructor:` or `__proto__:` must not match Object.prototype
    const sub = Object.hasOwn(props, k) ? props[k] : undefined;
    if (!sub) out.push({ path: [...path, k], suggestion: nearest(k, known) });
    else out.push(...findUnknownKeys(v, sub, [...path, k]));
  }
  return out;
}

/** The schema of a dotted key, or undefined when the key does not exist. */
export function schemaAt(path: string[]): TSchema | undefined {
  let s: TSchema | undefined = ConfigSchema;
  for (const seg of path) {
    const props: Record<string, TSchema> | undefined = (s as { properties?: Record<string, TSchema> } | undefined)?.properties;
    s = props && Object.hasOwn(props, seg) ? props[seg] : undefined;
    if (!s) return undefined;
  }
  return s;
}

/** Applies one `--set a.b.c=value`; the value is read as YAML (numbers, booleans, [lists]). */
export function applySet(target: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new InfraError('INFRA_ERR_SET_SYNTAX', `--set ${assignment}: expected key.path=value`);
  const key = assignment.slice(0, eq).trim();
  const rawValue = assignment.slice(eq + 1);
  const path = key.split('.');
  for (let i = 0; i < path.length; i++) {
    if (!schemaAt(path.slice(0, i + 1))) {
      const parent = schemaAt(path.slice(0, i)) as { properties?: Record<string, TSchema> } | undefined;
      const suggestion = nearest(path[i] as string, Object.keys(parent?.properties ?? {}));
      // suggest the whole corrected key (htpp.port -> http.port), keeping what follows the typo
      const fixed = suggestion ? [...path.slice(0, i), suggestion, ...path.slice(i + 1)].join('.') : undefined;
      const message = `unknown key "${path.slice(0, i + 1).join('.')}"${fixed ? ` — did you mean "${fixed}"?` : ''}`;
      throw new InfraError('INFRA_ERR_CONFIG_UNKNOWN_KEY', `--set ${key}: ${message}`, {
        details: [{ path: key, file: '--set', message }],
      });
    }
  }
  let value: unknown;
  try {
    value = rawValue === '' ? '' : parseYaml(rawValue);
  } catch {
    value = rawValue;
  }
  if (value === null) value = rawValue;
  const leafSchema = schemaAt(path) as { type?: string } | undefined;
  if (leafSchema?.type === 'string' && typeof value !== 'string') value = rawValue;
  let cursor = target;
  for (const seg of path.slice(0, -1)) {
    const next = cursor[seg];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) cursor[seg] = {};
    cursor = cursor[seg] as Record<string, unknown>;
  }
  cursor[path[path.length - 1] as string] = value;
}

function childNode(node: unknown, seg: string): { key: Node | null; value: Node | null } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && isScalar(pair.key) && String(pair.key.value) === seg) return { key: pair.key as Node, value: pair.value as Node | null };
    }
    return undefined;
  }
  if (isSeq(node)) {
    const item = node.items[Number(seg)];
    return item ? { key: item as Node, value: item as Node } : undefined;
  }
  return undefined;
}

/** The YAML node of the key at `path` (for "unknown key" positions); falls back to the nearest ancestor. */
function locateKey(doc: Document, path: string[]): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined;
  for (const seg of path) {
    const child = childNode(node, seg);
    if (!child) return last;
    last = child.key ?? last;
    node = child.value;
  }
  return last;
}

/** The YAML node of the value at `path` (for type errors); falls back to the key, then the nearest ancestor. */
function locateValue(doc: Document, path: string[]): Node | undefined {
  let node: unknown = doc.contents;
  let last: Node | undefined;
  for (const seg of path) {
    const child = childNode(node, seg);
    if (!child) return last;
    last = (child.value ?? child.key) ?? last;
    node = child.value;
  }
  return last;
}

/** A short human description of what a schema accepts. */
export function describeSchema(schema: TSchema): string {
  const s = schema as Record<string, unknown> & { anyOf?: TSchema[] };
  if (s.anyOf) {
    const literals = s.anyOf.map((x) => (x as { const?: unknown }).const).filter((x) => x !== undefined);
    if (literals.length === s.anyOf.length) return `one of ${literals.map((l) => JSON.stringify(l)).join(', ')}`;
    return s.anyOf.map(describeSchema).join(' or ');
  }
  if (s.const !== undefined) return JSON.stringify(s.const);
  const parts: string[] = [];
  const type = s.type as string | undefined;
  if (type === 'integer' || type === 'number') {
    parts.push(type === 'integer' ? 'an integer' : 'a number');
    if (s.minimum !== undefined && s.maximum !== undefined) parts.push(`from ${String(s.minimum)} to ${String(s.maximum)}`);
    else if (s.minimum !== undefined) parts.push(`>= ${String(s.minimum)}`);
  } else if (type === 'string') {
    parts.push('a string');
    if (s.pattern) parts.push(`matching ${String(s.pattern)}`);
    if (s.minLength) parts.push(`of at least ${String(s.minLength)} characters`);
  } else if (type === 'array') {
    const items = s.items as TSchema | undefined;
    parts.push(`a list${items ? ` of ${describeSchema(items)}` : ''}`);
    if (s.uniqueItems) parts.push('without duplicates');
    if (s.minItems) parts.push(`with at least ${String(s.minItems)} item(s)`);
  } else if (type === 'object') {
    parts.push('a mapping');
  } else if (type) {
    parts.push(`a ${type}`);
  } else {
    parts.push('a valid value');
  }
  return parts.join(' ');
}

