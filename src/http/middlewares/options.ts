/**
 * Readers for middleware options. Options come from YAML/JSON (typed values) or from Docker labels
 * (strings, lists as comma-separated strings), so every reader accepts both forms. A reader returns
 * the value, `undefined` when absent, or throws `OptionError`, which the factory turns into
 * `{ error }` — the only place a throw is used, and it never leaves the factory.
 */
import { compileGoRegexp, type GoRegexpOptions } from '../../lib/go-regexp.ts';

/** A bad option value; the message names the key, e.g. `stsSeconds: expected a number`. */
export class OptionError extends Error {
  override readonly name = 'OptionError';
}

/** Runs a factory body, converting an `OptionError` (or any bug) into the `{ error }` value. */
export function guard<T>(build: () => T): T | { readonly error: string } {
  try {
    return build();
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err) };
  }
}

/** The value under `key`, also found case-insensitively (labels are lower-cased by Docker users). */
export function pick(options: Record<string, unknown>, key: string): unknown {
  if (key in options) return options[key];
  const lower = key.toLowerCase();
  for (const k of Object.keys(options)) if (k.toLowerCase() === lower) return options[k];
  return undefined;
}

/** Fails on keys the middleware does not know, so typos surface instead of silently doing nothing. */
export function checkKeys(options: Record<string, unknown>, known: readonly string[]): void {
  const set = new Set(known.map((k) => k.toLowerCase()));
  for (const k of Object.keys(options)) {
    if (!set.has(k.toLowerCase())) throw new OptionError(`${k}: unknown option`);
  }
}

export function optString(options: Record<string, unknown>, key: string): string | undefined {
  const v = pick(options, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new OptionError(`${key}: expected a string`);
}

export function optBool(options: Record<string, unknown>, key: string): boolean | undefined {
  const v = pick(options, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'boolean') return v;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true') return true;
    if (s === 'false') return false;
  }
  throw new OptionError(`${key}: expected a boolean`);
}

export function optNumber(
  options: Record<string, unknown>,
  key: string,
  opts: { min?: number; integer?: boolean } = {},
): number | undefined {
  const v = pick(options, key);
  if (v === undefined || v === null) return undefined;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(v)) n = Number(v);
  else throw new OptionError(`${key}: expected a number`);
  if (!Number.isFinite(n)) throw new OptionError(`${key}: expected a number`);
  if (opts.integer && !Number.isInteger(n)) throw new OptionError(`${key}: expected an integer`);
  if (opts.min !== undefined && n < opts.min) throw new OptionError(`${key}: must be at least ${opts.min}`);
  return n;
}

/** A list of strings: an array, or a comma-separated string as labels give it. Empty items dropped. */
export function optStringList(options: Record<string, unknown>, key: string): string[] | undefined {
  const v = pick(options, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(v)) {
    return v
      .map((item, i) => {
        if (typeof item === 'string') return item.trim();
        if (typeof item === 'number') return String(item);
        throw new OptionError(`${key}[${i}]: expected a string`);
      })
      .filter((s) => s !== '');
  }
  throw new OptionError(`${key}: expected a list of strings`);
}

/** A string → string map (custom headers). Values may be empty strings (meaning "remove"). */
export function optStringMap(options: Record<string, unknown>, key: string): Array<[string, string]> | undefined {
  const v = pick(options, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new OptionError(`${key}: expected a map of strings`);
  const out: Array<[string, string]> = [];
  for (const [k, val] of Object.entries(v as Record<string, unknown>)) {
    if (val === null || val === undefined) out.push([k, '']);
    else if (typeof val === 'string' || typeof val === 'number' || typeof val === 'boolean') out.push([k, String(val)]);
    else throw new OptionError(`${key}.${k}: expected a string`);
  }
  return out;
}

/** A nested options object (e.g. `sourceCriterion`, `ipStrategy`). */
export function optObject(options: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = pick(options, key);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw new OptionError(`${key}: expected an object`);
  return v as Record<string, unknown>;
}

/** Prefixes errors raised while reading a nested object with its key path. */
export function nested<T>(key: string, read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof OptionError) throw new OptionError(`${key}.${err.message}`);
    throw err;
  }
}

/**
 * A Go regular expression from a middleware option, compiled by berth's one translator
 * (`src/lib/go-regexp.ts`: Go's meaning, the backtracking guard); refused with the option's name.
 */
export function goRegexpOption(key: string, source: string, opts?: GoRegexpOptions): RegExp {
  const r = compileGoRegexp(source, opts);
  if (!r.ok) throw new OptionError(`${key}: invalid regular expression: ${r.error}`);
  return r.re;
}

/** A status code or range of Traefik's (`"404"`, `"500-599"`) as `[low, high]`. */
export function parseStatusRange(key: string, spec: string): [number, number] {
  const m = /^\s*(\d{3})\s*(?:-\s*(\d{3})\s*)?$/.exec(spec);
  if (!m) throw new OptionError(`${key}: invalid status or range ${JSON.stringify(spec)}`);
  const lo = Number(m[1]);
  const hi = m[2] === undefined ? lo : Number(m[2]);
  if (hi < lo) throw new OptionError(`${key}: invalid range ${JSON.stringify(spec)}`);
  return [lo, hi];
}
