/**
 * A small, data-only schema language for Traefik's dynamic configuration and the walker that checks
 * untrusted input against it. Keys match case-insensitively (as Traefik's file provider does) and come
 * out in their canonical camelCase; element names (router, service, … names) keep their spelling.
 *
 * The walker never throws on input: problems are collected as `Issue`s with the dotted path of the
 * offending key, and a value that fails is simply absent from the result.
 */

/** One problem found while walking the input. */
export interface Issue {
  readonly level: 'error' | 'warning';
  /** Dotted path, e.g. `http.routers.api.rule` or `tls.certificates[0].certFile`. */
  readonly path: string;
  readonly message: string;
}

/** A field of an object schema. */
export interface Field {
  readonly schema: Schema;
  readonly required?: boolean;
}

/** Describes the accepted shape of one value. */
export type Schema =
  | { readonly kind: 'string' }
  /** A Go duration string or a bare number of seconds; numbers come out as strings. */
  | { readonly kind: 'duration' }
  | { readonly kind: 'int' }
  | { readonly kind: 'number' }
  | { readonly kind: 'bool' }
  /** A list of strings; a single comma-separated string is accepted too (`entryPoints: web,websecure`). */
  | { readonly kind: 'stringList' }
  /** Free-form string → string map whose keys keep their case (header names). */
  | { readonly kind: 'stringMap' }
  /** `{}`, kept as an empty object (Traefik's marker types). */
  | { readonly kind: 'empty' }
  | ObjectSchema
  | ListSchema
  | MapSchema
  | MiddlewareSchema;

export interface ObjectSchema {
  readonly kind: 'object';
  /** Canonical field names → field. */
  readonly fields: Readonly<Record<string, Field>>;
  /** Keys Traefik knows but berth does not implement: dropped with a warning, the object is kept. */
  readonly ignored?: readonly string[];
  /**
   * A section (`http`, `tls`, …) rather than part of an element: a bad key is reported and skipped
   * but does not fail the object.
   */
  readonly section?: boolean;
  /** `true` stands for `{}` and `false` for absent (`tls: true` on a router). */
  readonly acceptBool?: boolean;
  /** A whole-object check run after the fields decoded cleanly; returns a message on failure. */
  readonly check?: (value: Record<string, unknown>) => string | undefined;
}

export interface ListSchema {
  readonly kind: 'list';
  readonly of: Schema;
  /** Each item is an element of its own: a bad item is dropped alone. */
  readonly elements?: boolean;
}

export interface MapSchema {
  readonly kind: 'map';
  readonly of: Schema;
  /** Each entry is an element of its own: a bad entry is dropped alone. */
  readonly elements?: boolean;
}

/** A Traefik middleware: exactly one key, its type, whose value holds free-form options. */
export interface MiddlewareSchema {
  readonly kind: 'middleware';
  /** Lower-cased type name → canonical type name and its known top-level option names. */
  readonly types: ReadonlyMap<string, { readonly name: string; readonly options: ReadonlyMap<string, string> }>;
}

type Result = { readonly ok: true; readonly value: unknown } | { readonly ok: false };

const FAIL: Result = { ok: false };

function ok(value: unknown): Result {
  return { ok: true, value };
}

/** True for a plain JSON/YAML mapping (not null, not an array). */
export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'an object';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  return `${typeof v} ${String(v)}`;
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

/** Builds a lower-case lookup for field names. */
function lowerIndex(names: Iterable<string>): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of names) m.set(n.toLowerCase(), n);
  return m;
}

const fieldIndexCache = new WeakMap<ObjectSchema, { fields: Map<string, string>; ignored: Map<string, string> }>();

function indexOf(schema: ObjectSchema): { fields: Map<string, string>; ignored: Map<string, string> } {
  let idx = fieldIndexCache.get(schema);
  if (!idx) {
    idx = { fields: lowerIndex(Object.keys(schema.fields)), ignored: lowerIndex(schema.ignored ?? []) };
    fieldIndexCache.set(schema, idx);
  }
  return idx;
}

/**
 * Checks `raw` against `schema`. Problems are appended to `issues`; the result is `ok: false` when the
 * value (or anything inside it that is not a separate element) is unusable.
 */
export function decodeWith(schema: Schema, raw: unknown, path: string, issues: Issue[]): Result {
  const fail = (message: string): Result => {
    issues.push({ level: 'error', path, message });
    return FAIL;
  };
  switch (schema.kind) {
    case 'string':
      return typeof raw === 'string' ? ok(raw) : fail(`expected a string, got ${describe(raw)}`);
    case 'duration':
      if (typeof raw === 'string') return ok(raw);
      if (typeof raw === 'number' && Number.isFinite(raw) && raw >= 0) return ok(String(raw));
      return fail(`expected a duration (e.g. "10s"), got ${describe(raw)}`);
    case 'int':
    case 'number': {
      let n: number | undefined;
      if (typeof raw === 'number') n = raw;
      else if (typeof raw === 'string' && /^\s*-?\d+(\.\d+)?\s*$/.test(raw)) n = Number(raw);
      if (n === undefined || !Number.isFinite(n)) return fail(`expected a number, got ${describe(raw)}`);
      if (schema.kind === 'int' && !Number.isInteger(n)) return fail(`expected an integer, got ${n}`);
      return ok(n);
    }
    case 'bool':
      if (typeof raw === 'boolean') return ok(raw);
      if (typeof raw === 'string' && /^(true|false)$/i.test(raw.trim())) return ok(raw.trim().toLowerCase() === 'true');
      return fail(`expected true or false, got ${describe(raw)}`);
    case 'stringList': {
      if (typeof raw === 'string') return ok(raw.split(',').map((s) => s.trim()).filter((s) => s !== ''));
      if (!Array.isArray(raw)) return fail(`expected a list of strings, got ${describe(raw)}`);
      const out: string[] = [];
      let good = true;
      raw.forEach((item, i) => {
        if (typeof item === 'string') out.push(item);
        else {
          issues.push({ level: 'error', path: `${path}[${i}]`, message: `expected a string, got ${describe(item)}` });
          good = false;
        }
      });
      return good ? ok(out) : FAIL;
    }
    case 'stringMap': {
      if (raw === null) return ok({});
      if (!isPlainObject(raw)) return fail(`expected an object of strings, got ${describe(raw)}`);
      const out: Record<string, string> = {};
      let good = true;
      for (const [k, v] of Object.entries(raw)) {
        if (typeof v === 'string') defineKey(out, k, v);
        else if (typeof v === 'number' || typeof v === 'boolean') defineKey(out, k, String(v));
        else {
          issues.push({ level: 'error', path: join(path, k), message: `expected a string, got ${describe(v)}` });
          good = false;
        }
      }
      return good ? ok(out) : FAIL;
    }
    case 'empty':
      if (raw === null || (isPlainObject(raw) && Object.keys(raw).length === 0)) return ok({});
      return fail(`expected an empty object {}, got ${describe(raw)}`);
    case 'object':
      return decodeObject(schema, raw, path, issues);
    case 'list':
      return decodeList(schema, raw, path, issues);
    case 'map':
      return decodeMap(schema, raw, path, issues);
    case 'middleware':
      return decodeMiddleware(schema, raw, path, issues);
  }
}

/** Assigns without ever touching a prototype (`__proto__` as a key is plain data here). */
function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

function decodeObject(schema: ObjectSchema, raw: unknown, path: string, issues: Issue[]): Result {
  if (raw === null) raw = {};
  if (schema.acceptBool && typeof raw === 'boolean') return raw ? ok({}) : ok(undefined);
  if (!isPlainObject(raw)) {
    issues.push({ level: 'error', path, message: `expected an object, got ${describe(raw)}` });
    return FAIL;
  }
  const idx = indexOf(schema);
  const out: Record<string, unknown> = {};
  const seen = new Map<string, string>();
  const failed = new Set<string>();
  let good = true;
  for (const [key, value] of Object.entries(raw)) {
    const lower = key.toLowerCase();
    const canonical = idx.fields.get(lower);
    const keyPath = join(path, key);
    if (canonical === undefined) {
      const ignored = idx.ignored.get(lower);
      if (ignored !== undefined) {
        issues.push({ level: 'warning', path: keyPath, message: `${ignored} is not supported by berth and is ignored` });
        continue;
      }
      issues.push({ level: 'error', path: keyPath, message: `unknown key (expected one of: ${Object.keys(schema.fields).join(', ')})` });
      if (!schema.section) good = false;
      continue;
    }
    const previous = seen.get(canonical);
    if (previous !== undefined) {
      issues.push({ level: 'error', path: keyPath, message: `duplicate key: "${previous}" and "${key}" are the same key (keys are case-insensitive)` });
      if (!schema.section) good = false;
      continue;
    }
    seen.set(canonical, key);
    const field = schema.fields[canonical]!;
    // An empty YAML value (`middlewares:`) means "not set" for scalars and lists.
    if (value === null || value === undefined) {
      const k = field.schema.kind;
      if (k !== 'object' && k !== 'empty' && k !== 'map' && k !== 'stringMap' && k !== 'middleware') continue;
    }
    const r = decodeWith(field.schema, value, join(path, canonical), issues);
    if (!r.ok) {
      failed.add(canonical);
      if (!schema.section) good = false;
      continue;
    }
    if (r.value !== undefined) out[canonical] = r.value;
  }
  for (const [name, field] of Object.entries(schema.fields)) {
    if (field.required && out[name] === undefined && !failed.has(name)) {
      issues.push({ level: 'error', path: join(path, name), message: 'missing required key' });
      good = false;
    }
  }
  if (!good) return FAIL;
  if (schema.check) {
    const problem = schema.check(out);
    if (problem !== undefined) {
      issues.push({ level: 'error', path, message: problem });
      return FAIL;
    }
  }
  return ok(out);
}

function decodeList(schema: ListSchema, raw: unknown, path: string, issues: Issue[]): Result {
  if (!Array.isArray(raw)) {
    issues.push({ level: 'error', path, message: `expected a list, got ${describe(raw)}` });
    return FAIL;
  }
  const out: unknown[] = [];
  let good = true;
  raw.forEach((item, i) => {
    const r = decodeWith(schema.of, item, `${path}[${i}]`, issues);
    if (r.ok) out.push(r.value);
    else if (!schema.elements) good = false;
  });
  return good ? ok(out) : FAIL;
}

function decodeMap(schema: MapSchema, raw: unknown, path: string, issues: Issue[]): Result {
  if (raw === null) return ok({});
  if (!isPlainObject(raw)) {
    issues.push({ level: 'error', path, message: `expected an object (name → definition), got ${describe(raw)}` });
    return FAIL;
  }
  const out: Record<string, unknown> = {};
  let good = true;
  for (const [name, value] of Object.entries(raw)) {
    const entryPath = join(path, name);
    if (name === '' || name === '__proto__') {
      issues.push({ level: 'error', path: entryPath, message: 'invalid name' });
      if (!schema.elements) good = false;
      continue;
    }
    const r = decodeWith(schema.of, value, entryPath, issues);
    if (r.ok) out[name] = r.value;
    else if (!schema.elements) good = false;
  }
  return good ? ok(out) : FAIL;
}

function decodeMiddleware(schema: MiddlewareSchema, raw: unknown, path: string, issues: Issue[]): Result {
  if (!isPlainObject(raw)) {
    issues.push({ level: 'error', path, message: `expected an object with one middleware type, got ${describe(raw)}` });
    return FAIL;
  }
  const keys = Object.keys(raw);
  if (keys.length !== 1) {
    const message = keys.length === 0 ? 'no middleware type given' : `exactly one middleware type expected, got ${keys.length} (${keys.join(', ')})`;
    issues.push({ level: 'error', path, message });
    return FAIL;
  }
  const key = keys[0]!;
  const type = schema.types.get(key.toLowerCase());
  if (!type) {
    const known = [...schema.types.values()].map((t) => t.name).join(', ');
    issues.push({ level: 'error', path: join(path, key), message: `unknown middleware type (expected one of: ${known})` });
    return FAIL;
  }
  let options = raw[key];
  if (options === null || options === undefined) options = {};
  if (!isPlainObject(options)) {
    issues.push({ level: 'error', path: join(path, type.name), message: `expected an object of options, got ${describe(options)}` });
    return FAIL;
  }
  // Options are validated by the middleware builders; only the case of known top-level names is fixed here.
  const canonical: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) defineKey(canonical, type.options.get(k.toLowerCase()) ?? k, v);
  return ok({ [type.name]: canonical });
}
