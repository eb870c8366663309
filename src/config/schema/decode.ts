/**
 * The decoder of structured documents (YAML, TOML, JSON files; the HTTP provider; the static file)
 * against a declaration. Keys match case-insensitively, as Traefik's loaders do, and come out in
 * their declared spelling; names (routers, entrypoints, header names) keep theirs. Strings holding
 * numbers or booleans are coerced, as Traefik does. It never throws on input: each problem is an
 * `Issue` with the dotted path of the key to change, and a value that fails is left out — the whole
 * object it is part of, unless that object is a section or the value an element (dropped alone).
 */
import { parseDuration } from '../../lib/duration.ts';
import { closest } from '../../lib/suggest.ts';
import { entriesOf, itemOf, kindOf, optionsOf, requiredKey, runChecks, unwrap } from './introspect.ts';
import type { InferOutput } from 'valibot';
import { metaOf, type Schema } from './kit.ts';
import { describe, isPlainObject, join, type Issue, type Warnings } from './issues.ts';

/** Marks a value that failed (its problem is recorded). */
const FAIL: unique symbol = Symbol('fail');
/** Marks a section switched off (`tls: false`): left out, not an error. */
const OFF: unique symbol = Symbol('off');
type Out = unknown;

/** What a walk needs besides the input. */
export interface DecodeContext {
  readonly issues: Issue[];
  /** Keys and values accepted without effect: a warning each, and the key is left out. */
  readonly warnings: Warnings;
  /**
   * Keep every part that decoded, as if each object were a section: for documents refused whole on
   * any error (the static configuration), whose cross-checks should still run and report.
   */
  readonly keepGoing?: boolean;
}

/** Decodes `raw` against `schema`; `undefined` when it is unusable (the issues say why). */
export function decodeDocument<S extends Schema>(
  schema: S,
  raw: unknown,
  ctx: DecodeContext,
): InferOutput<S> | undefined {
  const r = walk(schema, raw, '', '', ctx);
  // The walk builds exactly the declared shape: every value it returns passed the schema's own checks.
  return r === FAIL || r === OFF ? undefined : (r as InferOutput<S>);
}

function fail(ctx: DecodeContext, path: string, message: string): typeof FAIL {
  ctx.issues.push({ level: 'error', path, message });
  return FAIL;
}

function walk(
  schema: Schema,
  raw: unknown,
  path: string,
  spath: string,
  ctx: DecodeContext,
): Out | typeof FAIL | typeof OFF {
  const s = unwrap(schema).schema;
  const meta = metaOf(s);
  switch (kindOf(s)) {
    case 'string': {
      if (typeof raw === 'number' && meta.fromNumber) raw = String(raw);
      if (typeof raw !== 'string') return fail(ctx, path, `expected a string, got ${describe(raw)}`);
      return checked(s, raw, path, spath, ctx);
    }
    case 'duration':
      if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return `${raw}s`;
      if (typeof raw === 'string' && parseDuration(raw) !== undefined) {
        const t = raw.trim();
        return checked(s, /^\d+(\.\d+)?$/.test(t) ? `${t}s` : t, path, spath, ctx);
      }
      return fail(ctx, path, `expected a duration such as "10s", "1m30s" or a number of seconds, got ${describe(raw)}`);
    case 'number': {
      let n = raw;
      if (typeof raw === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)) n = Number(raw);
      if (typeof n !== 'number' || !Number.isFinite(n)) {
        const r = runChecks(s, NaN);
        return fail(
          ctx,
          path,
          r.ok ? `expected a number, got ${describe(raw)}` : r.message.replace(/got NaN$/, `got ${describe(raw)}`),
        );
      }
      return checked(s, n, path, spath, ctx);
    }
    case 'boolean':
      if (typeof raw === 'boolean') return raw;
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) return raw.trim().toLowerCase() === 'true';
      return fail(ctx, path, `expected true or false, got ${describe(raw)}`);
    case 'enum': {
      const values = optionsOf(s);
      if (typeof raw === 'string') {
        const lower = raw.trim().toLowerCase();
        const hit = values.find((x) => x.toLowerCase() === lower) ?? meta.aliases?.[lower];
        if (hit !== undefined) return hit;
      }
      return fail(ctx, path, `expected one of ${values.join(', ')}, got ${describe(raw)}`);
    }
    case 'list':
      return walkList(s, raw, path, spath, ctx);
    case 'record':
      return walkRecord(s, raw, path, spath, ctx);
    case 'object':
      return walkObject(s, raw, path, spath, ctx);
    case 'free':
      return raw;
    case 'custom': {
      const r = runChecks(s, raw);
      return r.ok ? r.value : fail(ctx, path, r.message);
    }
  }
}

/** Runs the schema's own checks. */
function checked(s: Schema, value: unknown, path: string, _spath: string, ctx: DecodeContext): Out | typeof FAIL {
  const r = runChecks(s, value);
  return r.ok ? r.value : fail(ctx, path, r.message);
}

const SCALARS = new Set(['string', 'number', 'boolean', 'duration', 'enum']);

function walkList(s: Schema, raw: unknown, path: string, spath: string, ctx: DecodeContext): Out | typeof FAIL {
  const item = itemOf(s);
  let items: unknown[];
  if (Array.isArray(raw)) items = raw;
  else if (typeof raw === 'string' && SCALARS.has(kindOf(item)))
    items = raw
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '');
  else if (typeof raw === 'number' && SCALARS.has(kindOf(item))) items = [raw];
  else return fail(ctx, path, `expected a list, got ${describe(raw)}`);
  const dropAlone = metaOf(s).elements === true || ctx.keepGoing === true;
  const out: unknown[] = [];
  let good = true;
  items.forEach((x, i) => {
    const r = walk(item, x, `${path}[${i}]`, spath, ctx);
    if (r === OFF) return;
    if (r !== FAIL) out.push(r);
    else if (!dropAlone) good = false;
  });
  return good ? out : FAIL;
}

function walkRecord(s: Schema, raw: unknown, path: string, spath: string, ctx: DecodeContext): Out | typeof FAIL {
  if (raw === null) return {};
  const dropAlone = metaOf(s).elements === true;
  if (!isPlainObject(raw))
    return fail(ctx, path, `expected an object (name → ${dropAlone ? 'definition' : 'value'}), got ${describe(raw)}`);
  const item = itemOf(s);
  const out: Record<string, unknown> = {};
  let good = true;
  for (const [name, value] of Object.entries(raw)) {
    const at = join(path, name);
    let r: Out | typeof FAIL | typeof OFF;
    if (name === '__proto__') r = fail(ctx, at, 'reserved name; choose another');
    else if (name === '') r = fail(ctx, at, 'invalid name (empty)');
    else r = walk(item, value, at, join(spath, '*'), ctx);
    if (r === OFF) continue;
    if (r !== FAIL) out[name] = r;
    else if (!dropAlone && !ctx.keepGoing) good = false;
  }
  return good ? out : FAIL;
}

const lowerIndexes = new WeakMap<object, Map<string, string>>();

/** Declared key names by their lower-case form (label-only keys are not part of documents). */
function keyIndex(entries: Readonly<Record<string, Schema>>): Map<string, string> {
  let m = lowerIndexes.get(entries);
  if (m === undefined) {
    m = new Map();
    for (const [k, e] of Object.entries(entries)) if (!metaOf(unwrap(e).schema).labelOnly) m.set(k.toLowerCase(), k);
    lowerIndexes.set(entries, m);
  }
  return m;
}

/** A known name close enough to a misspelt one to suggest it. */
export function suggestName(word: string, known: Iterable<string>): string | undefined {
  return closest(word, known, Math.max(1, Math.floor(word.length / 4)));
}

function unknownKey(key: string, known: readonly string[], noun: string, hint: string | undefined): string {
  if (hint !== undefined) return `unknown ${noun} (${hint})`;
  const guess = suggestName(key, known);
  return guess !== undefined
    ? `unknown ${noun}, did you mean "${guess}"?`
    : `unknown ${noun} (expected one of: ${known.join(', ')})`;
}

function walkObject(
  s: Schema,
  raw: unknown,
  path: string,
  spath: string,
  ctx: DecodeContext,
): Out | typeof FAIL | typeof OFF {
  const meta = metaOf(s);
  const lenient = meta.section === true || ctx.keepGoing === true;
  if (meta.allowEmpty && typeof raw === 'boolean') return raw ? walkObject(s, {}, path, spath, ctx) : OFF;
  if (raw === null) raw = {};
  if (!isPlainObject(raw))
    return fail(ctx, path, `expected an object${meta.allowEmpty ? ' or true/false' : ''}, got ${describe(raw)}`);
  const entries = entriesOf(s);
  const index = keyIndex(entries);
  const keys = Object.keys(raw);
  if (meta.exactlyOne !== undefined && keys.length !== 1) {
    return fail(
      ctx,
      path,
      keys.length === 0
        ? `no ${meta.exactlyOne} given`
        : `exactly one ${meta.exactlyOne} expected, got ${keys.length} (${keys.join(', ')})`,
    );
  }
  const out: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  const failed = new Set<string>();
  let good = true;
  for (const key of keys) {
    const value = raw[key];
    const name = index.get(key.toLowerCase());
    const at = join(path, key);
    if (name === undefined) {
      fail(ctx, at, unknownKey(key, [...index.values()], meta.exactlyOne ?? 'key', meta.hints?.[key.toLowerCase()]));
      if (!lenient) good = false;
      continue;
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      fail(ctx, at, `duplicate key: "${earlier}" and "${key}" name the same setting (keys are case-insensitive)`);
      if (!lenient) good = false;
      continue;
    }
    seen.set(name, key);
    const field = entries[name]!;
    const keySpath = join(spath, name);
    const fieldMeta = metaOf(unwrap(field).schema);
    if (fieldMeta.deprecated !== undefined)
      ctx.issues.push({ level: 'warning', path: join(path, name), message: `deprecated: ${fieldMeta.deprecated}` });
    // `false`, and `{}` for a section berth does not implement, switch nothing on: nothing to warn about.
    const switchesNothing =
      value === false || (kindOf(field) === 'free' && isPlainObject(value) && Object.keys(value).length === 0);
    const warned = switchesNothing ? undefined : ctx.warnings.key(keySpath, value);
    if (warned !== undefined) {
      ctx.issues.push({ level: 'warning', path: join(path, name), message: warned });
      continue;
    }
    // An empty YAML value (`middlewares:`) means "not set" for scalars and lists.
    if ((value === null || value === undefined) && kindOf(field) !== 'object' && kindOf(field) !== 'record') continue;
    const r = walk(field, value, join(path, name), keySpath, ctx);
    if (r === OFF) continue;
    if (r === FAIL) {
      failed.add(name);
      if (!lenient) good = false;
      continue;
    }
    out[name] = r;
    const w = ctx.warnings.value(keySpath, r);
    if (w !== undefined) ctx.issues.push({ level: 'warning', path: join(path, name), message: w });
  }
  for (const [name, field] of Object.entries(entries)) {
    if (name in out) continue;
    const { default: dflt } = unwrap(field);
    const switchedOff = seen.has(name) && raw[seen.get(name)!] === false;
    if (dflt !== undefined && !switchedOff) {
      // An invalid value falls back to the default (its error is recorded), so the shape stays whole.
      const r = walk(field, structuredClone(dflt), join(path, name), join(spath, name), ctx);
      if (r !== FAIL && r !== OFF) out[name] = r;
    } else if (requiredKey(field) && !failed.has(name)) {
      fail(ctx, join(path, name), 'missing required key');
      if (!ctx.keepGoing) good = false;
    }
  }
  if (!good) return FAIL;
  const r = runChecks(s, out);
  return r.ok ? r.value : fail(ctx, path, r.message);
}
