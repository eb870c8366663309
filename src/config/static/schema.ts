/**
 * A small declarative schema language for the static configuration and the one generic walker that
 * checks untrusted input against it. Keys match case-insensitively (Traefik's loader does) and come
 * out in canonical camelCase; keys of `record`s (entrypoint names, header names) keep their spelling.
 * The walker never throws on input: each problem becomes a diagnostic whose element is the dotted
 * path of the offending key (`entryPoints.web.address`), and a value that fails is left out.
 */
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { parseDuration } from '../../lib/duration.ts';
import { closest } from '../../lib/suggest.ts';

/** Where diagnostics go while walking one document. */
export interface WalkContext {
  readonly source: string;
  readonly diagnostics: Diagnostic[];
}

/** Properties every schema may carry. */
interface Common {
  /** Value used when the key is absent from a present parent object; walked like input. */
  readonly default?: unknown;
  readonly required?: boolean;
  /** Accepted, with a warning saying what to use instead. */
  readonly deprecated?: string;
}

/** Describes the accepted shape of one value. */
export type Schema = Common & (
  /** `fromNumber`: a YAML number is accepted and stringified (status codes, header values). */
  | { readonly kind: 'string'; readonly fromNumber?: boolean; readonly check?: (v: string) => string | undefined }
  | { readonly kind: 'number'; readonly integer?: boolean; readonly min?: number; readonly max?: number }
  | { readonly kind: 'bool' }
  /** Go duration string or bare seconds; comes out as a string (`42` → `"42s"`). */
  | { readonly kind: 'duration' }
  /** One of a fixed set of strings, matched case-insensitively, out in canonical spelling. */
  | { readonly kind: 'enum'; readonly values: readonly string[]; readonly aliases?: Readonly<Record<string, string>> }
  /** A list; a comma-separated string is accepted for lists of scalars, as Traefik's loader does. */
  | { readonly kind: 'array'; readonly of: Schema }
  /** A map whose keys are the user's names. */
  | { readonly kind: 'record'; readonly of: Schema }
  /**
   * `toggle`: the section is switched on by its presence, so `null`, `true` and `{}` all mean
   * "enabled with defaults" and `false` means absent (`ping: {}`, `tlsChallenge: true`).
   */
  | { readonly kind: 'object'; readonly fields: Readonly<Record<string, Schema>>; readonly toggle?: boolean; readonly hints?: Readonly<Record<string, string>> }
  /** A Traefik key berth does not implement: accepted and dropped with a warning. */
  | { readonly kind: 'ignored'; readonly note?: string }
  /** Escape hatch for values with their own syntax (`dynamicPorts: 10000-10010`). */
  | { readonly kind: 'custom'; readonly expected: string; readonly decode: (v: unknown) => { value: unknown } | { error: string } }
);

/** Marks "no value": absent, switched off, or invalid (then a diagnostic was recorded). */
export const ABSENT: unique symbol = Symbol('absent');

/** Walks `value` against `schema`; returns the decoded value or `ABSENT`. */
export function walk(value: unknown, schema: Schema, path: string, ctx: WalkContext): unknown {
  switch (schema.kind) {
    case 'string':
      if (typeof value === 'number' && schema.fromNumber === true) return String(value);
      if (typeof value !== 'string') return fail(ctx, path, `expected a string, got ${describe(value)}`);
      return checked(ctx, path, value, schema.check?.(value));
    case 'number': return walkNumber(value, schema, path, ctx);
    case 'bool':
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string' && /^(true|false)$/i.test(value.trim())) return value.trim().toLowerCase() === 'true';
      return fail(ctx, path, `expected true or false, got ${describe(value)}`);
    case 'duration': return walkDuration(value, path, ctx);
    case 'enum': return walkEnum(value, schema.values, schema.aliases, path, ctx);
    case 'array': return walkArray(value, schema.of, path, ctx);
    case 'record': return walkRecord(value, schema.of, path, ctx);
    case 'object': return walkObject(value, schema, path, ctx);
    case 'ignored':
      if (value !== null && value !== false && !isEmptyObject(value)) {
        ctx.diagnostics.push(diagWarning(ctx.source, path, `not supported by berth; ignored${schema.note ? ` (${schema.note})` : ''}`));
      }
      return ABSENT;
    case 'custom': {
      const r = schema.decode(value);
      return 'error' in r ? fail(ctx, path, r.error) : r.value;
    }
  }
}

function walkNumber(value: unknown, s: { integer?: boolean; min?: number; max?: number }, path: string, ctx: WalkContext): unknown {
  let n = value;
  if (typeof value === 'string' && /^-?\d+(\.\d+)?$/.test(value.trim())) n = Number(value.trim());
  const what = s.integer === true ? 'an integer' : 'a number';
  const range = s.min !== undefined && s.max !== undefined ? ` between ${s.min} and ${s.max}` : s.min !== undefined ? ` >= ${s.min}` : '';
  if (typeof n !== 'number' || !Number.isFinite(n)) return fail(ctx, path, `expected ${what}${range}, got ${describe(value)}`);
  if ((s.integer === true && !Number.isInteger(n)) || (s.min !== undefined && n < s.min) || (s.max !== undefined && n > s.max)) {
    return fail(ctx, path, `expected ${what}${range}, got ${n}`);
  }
  return n;
}

function walkDuration(value: unknown, path: string, ctx: WalkContext): unknown {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return `${value}s`;
  if (typeof value === 'string' && parseDuration(value) !== undefined) {
    const s = value.trim();
    return /^\d+(\.\d+)?$/.test(s) ? `${s}s` : s;
  }
  return fail(ctx, path, `expected a duration such as "5s", "1m30s" or a number of seconds, got ${describe(value)}`);
}

function walkEnum(value: unknown, values: readonly string[], aliases: Readonly<Record<string, string>> | undefined, path: string, ctx: WalkContext): unknown {
  if (typeof value === 'string') {
    const lower = value.trim().toLowerCase();
    const hit = values.find((v) => v.toLowerCase() === lower) ?? aliases?.[lower];
    if (hit !== undefined) return hit;
  }
  return fail(ctx, path, `expected one of ${values.join(', ')}, got ${describe(value)}`);
}

function walkArray(value: unknown, of: Schema, path: string, ctx: WalkContext): unknown {
  if (value === null) return [];
  let items: unknown[];
  if (Array.isArray(value)) items = value;
  else if (typeof value === 'string' && (of.kind === 'string' || of.kind === 'number')) {
    items = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  } else return fail(ctx, path, `expected a list, got ${describe(value)}`);
  const out: unknown[] = [];
  items.forEach((item, i) => {
    const v = walk(item, of, `${path}[${i}]`, ctx);
    if (v !== ABSENT) out.push(v);
  });
  return out;
}

function walkRecord(value: unknown, of: Schema, path: string, ctx: WalkContext): unknown {
  if (value === null) return {};
  if (!isPlainObject(value)) return fail(ctx, path, `expected a map of names, got ${describe(value)}`);
  const out: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (key === '__proto__') {
      fail(ctx, join(path, key), 'reserved name; choose another');
      continue;
    }
    const v = walk(item, of, join(path, key), ctx);
    if (v !== ABSENT) out[key] = v;
  }
  return out;
}

type ObjectSchema = Extract<Schema, { kind: 'object' }>;

function walkObject(value: unknown, schema: ObjectSchema, path: string, ctx: WalkContext): unknown {
  const { fields } = schema;
  const toggle = schema.toggle === true;
  if (toggle && value === false) return ABSENT;
  if (value === null || (toggle && value === true)) value = {};
  if (!isPlainObject(value)) return fail(ctx, path, `expected ${toggle ? 'an object or true/false' : 'an object'}, got ${describe(value)}`);
  const canonical = canonicalNames(fields);
  const out: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  for (const [key, item] of Object.entries(value)) {
    const name = canonical.get(key.toLowerCase());
    if (name === undefined) {
      const hint = schema.hints?.[key.toLowerCase()];
      const guess = hint === undefined ? suggestKey(key, Object.keys(fields)) : undefined;
      fail(ctx, join(path, key), `unknown key${hint ? ` (${hint})` : guess ? `, did you mean "${guess}"?` : ''}`);
      continue;
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      fail(ctx, join(path, key), `duplicate key: "${earlier}" and "${key}" name the same setting (keys are case-insensitive)`);
      continue;
    }
    seen.set(name, key);
    const field = fields[name]!;
    if (field.deprecated !== undefined) ctx.diagnostics.push(diagWarning(ctx.source, join(path, name), `deprecated: ${field.deprecated}`));
    const v = walk(item, field, join(path, name), ctx);
    if (v !== ABSENT) out[name] = v;
  }
  for (const [name, field] of Object.entries(fields)) {
    // An invalid value falls back to the default (its error is recorded) so the shape stays whole.
    if (name in out || (seen.has(name) && (field.default === undefined || (value as Record<string, unknown>)[seen.get(name)!] === false))) continue;
    if (field.default !== undefined) {
      const v = walk(structuredClone(field.default), field, join(path, name), ctx);
      if (v !== ABSENT) out[name] = v;
    } else if (field.required === true) fail(ctx, join(path, name), 'required');
  }
  return out;
}

const canonicalCache = new WeakMap<object, Map<string, string>>();
function canonicalNames(fields: Readonly<Record<string, Schema>>): Map<string, string> {
  let m = canonicalCache.get(fields);
  if (!m) {
    m = new Map(Object.keys(fields).map((k) => [k.toLowerCase(), k]));
    canonicalCache.set(fields, m);
  }
  return m;
}

/** Appends a key to a dotted path. */
export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Records an error at `path` and returns ABSENT. */
export function fail(ctx: WalkContext, path: string, message: string): typeof ABSENT {
  ctx.diagnostics.push(diagError(ctx.source, path === '' ? undefined : path, message));
  return ABSENT;
}

function checked(ctx: WalkContext, path: string, value: string, problem: string | undefined): unknown {
  return problem === undefined ? value : fail(ctx, path, problem);
}

/** Names a value's type for messages: `a string`, `a number`, `a list`, … */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length <= 40 ? `"${value}"` : 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return typeof value;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isEmptyObject(v: unknown): boolean {
  return isPlainObject(v) && Object.keys(v).length === 0;
}

/** The known key closest to a misspelt one, or undefined when nothing is close enough to help. */
export function suggestKey(key: string, known: readonly string[]): string | undefined {
  return closest(key, known, Math.max(1, Math.floor(key.length / 4)));
}

/** Options shared by the builders below. */
type Opts = Common;
/** Builders that keep the schema declarations short. */
export const str = (o: Opts & { check?: (v: string) => string | undefined; fromNumber?: boolean } = {}): Schema => ({ kind: 'string', ...o });
export const num = (o: Opts & { integer?: boolean; min?: number; max?: number } = {}): Schema => ({ kind: 'number', ...o });
export const int = (o: Opts & { min?: number; max?: number } = {}): Schema => ({ kind: 'number', integer: true, ...o });
export const bool = (def?: boolean, o: Opts = {}): Schema => (def === undefined ? { kind: 'bool', ...o } : { kind: 'bool', default: def, ...o });
export const dur = (def?: string, o: Opts = {}): Schema => (def === undefined ? { kind: 'duration', ...o } : { kind: 'duration', default: def, ...o });
export const oneOf = (values: readonly string[], o: Opts & { aliases?: Readonly<Record<string, string>> } = {}): Schema => ({ kind: 'enum', values, ...o });
export const list = (of: Schema, o: Opts = {}): Schema => ({ kind: 'array', of, ...o });
export const map = (of: Schema, o: Opts = {}): Schema => ({ kind: 'record', of, ...o });
export const obj = (fields: Readonly<Record<string, Schema>>, o: Opts & { hints?: Readonly<Record<string, string>> } = {}): Schema => ({ kind: 'object', fields, ...o });
export const toggle = (fields: Readonly<Record<string, Schema>>, o: Opts = {}): Schema => ({ kind: 'object', fields, toggle: true, ...o });
export const ignored = (note?: string): Schema => (note === undefined ? { kind: 'ignored' } : { kind: 'ignored', note });
export const custom = (expected: string, decode: (v: unknown) => { value: unknown } | { error: string }, o: Opts = {}): Schema => ({ kind: 'custom', expected, decode, ...o });
