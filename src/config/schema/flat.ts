/**
 * Flat sources of configuration — Docker labels (`traefik.http.routers.x.tls.domains[0].main=…`),
 * Traefik's CLI flags (`--entrypoints.web.address=:80`) and `TRAEFIK_*` variables — set one value
 * at a dotted path. The declaration tells what each segment is: a key (matched case-insensitively,
 * written in its declared spelling), a name (routers, entrypoints, header names: kept as given), or
 * a list index. Never throws: a path the declaration does not have comes back as a message.
 */
import { closest } from '../../lib/suggest.ts';
import { entriesOf, itemOf, kindOf, unwrap } from './introspect.ts';
import { metaOf, type Schema } from './kit.ts';
import type { Warnings } from './issues.ts';

/** How a flat source writes values. */
export interface FlatOptions {
  /**
   * Turns a text value into the leaf's type, or says why it cannot; without it the text is set as
   * is and the structured decoder coerces it later (flags, environment).
   */
  readonly convert?: (leaf: Schema, text: string) => { ok: true; value: unknown } | { ok: false; message: string };
  /** Every object may be switched on alone (`--providers.docker`, `--api=true`), as Traefik's flags allow. */
  readonly anyObjectAlone?: boolean;
  /** A bare number segment is a list index (`…_DOMAINS_0_MAIN` in environment variables). */
  readonly numericIndex?: boolean;
  readonly warnings: Warnings;
}

/** What setting one value did: nothing to report, an error, or a warning (the value was not set). */
export type FlatResult = undefined | { readonly error: string } | { readonly warning: string };

const SEGMENT = /^([^[\]]+)(?:\[(\d{1,4})\])?$/;

/** ` (did you mean "x"?)` when a known name is close to `word`, else ''. */
function didYouMean(word: string, known: readonly string[]): string {
  const guess = closest(word, known, Math.max(2, Math.floor(word.length / 3)));
  return guess === undefined ? '' : ` (did you mean "${guess}"?)`;
}

type Node = Record<string, unknown>;

/** The key of `entries` a segment names, and its schema: declared keys and label forms of lists. */
function findKey(schema: Schema, seg: string): { name: string; field: Schema; label: boolean } | undefined {
  const lower = seg.toLowerCase();
  for (const [name, field] of Object.entries(entriesOf(schema))) {
    if (name.toLowerCase() === lower) return { name, field, label: false };
    const alt = metaOf(unwrap(field).schema).label;
    if (alt !== undefined && alt.name.toLowerCase() === lower)
      return { name: alt.name, field: alt.schema, label: true };
  }
  return undefined;
}

function knownKeys(schema: Schema): string[] {
  return Object.entries(entriesOf(schema)).map(([name, field]) => metaOf(unwrap(field).schema).label?.name ?? name);
}

/** Sets `value` at `segs` (below `spath`, the schema path of `schema`) into `target`. */
export function setFlat(
  target: Node,
  schema: Schema,
  segs: readonly string[],
  value: string,
  spath: string,
  opts: FlatOptions,
): FlatResult {
  let cur = target;
  let s = schema;
  let sp = spath;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i] ?? '';
    const last = i === segs.length - 1;
    const m = SEGMENT.exec(seg);
    if (!m) return { error: `invalid key segment "${seg}"` };
    const word = m[1] ?? '';
    const hit = findKey(s, word);
    if (hit === undefined) {
      const known = knownKeys(s);
      return {
        error: `unknown key "${word}"${didYouMean(word, known)}${known.length > 0 && known.length <= 12 ? `; known keys: ${known.join(', ')}` : ''}`,
      };
    }
    const keyName = hit.label ? canonicalOf(s, hit.name) : hit.name;
    const fieldPath = sp === '' ? keyName : `${sp}.${keyName}`;
    const warned = opts.warnings.key(fieldPath, value);
    if (warned !== undefined) return { warning: warned };
    const f = unwrap(hit.field).schema;
    const kind = kindOf(f);
    let index = m[2];
    if (index === undefined && opts.numericIndex && kind === 'list' && /^\d{1,4}$/.test(segs[i + 1] ?? '')) {
      index = segs[i + 1];
      i++;
    }
    const atEnd = i === segs.length - 1;
    if (index !== undefined) {
      if (kind !== 'list' || kindOf(itemOf(f)) !== 'object')
        return { error: `"${word}" is not a list; remove the index` };
      const item = itemOf(f);
      if (atEnd) return { error: `"${seg}" needs a field, e.g. ${seg}.${Object.keys(entriesOf(item))[0] ?? 'name'}` };
      const list = (cur[hit.name] ??= []) as Node[];
      cur = list[Number(index)] ??= {};
      s = item;
      sp = fieldPath;
      continue;
    }
    switch (kind) {
      case 'object': {
        if (last) {
          if (!metaOf(f).allowEmpty && !opts.anyObjectAlone)
            return { error: `"${word}" needs a field, e.g. ${word}.${knownKeys(f)[0] ?? '…'}` };
          const b = parseToggle(value);
          if (b === undefined)
            return {
              error: `invalid value "${value.slice(0, 60)}": expected true or false (enables "${hit.name}" with defaults)`,
            };
          if (b) cur[hit.name] ??= {};
          return undefined;
        }
        cur = (cur[hit.name] ??= {}) as Node;
        s = f;
        sp = fieldPath;
        continue;
      }
      case 'list':
        if (kindOf(itemOf(f)) === 'object')
          return { error: `"${word}" is a list: address its items by index, e.g. ${word}[0]` };
        return setLeaf(cur, hit.name, f, value, last, segs.slice(i + 1), fieldPath, opts);
      case 'record': {
        if (last)
          return {
            error: `"${word}" expects a name, e.g. ${word}.${kindOf(itemOf(f)) === 'object' ? 'name' : 'X-Example'}`,
          };
        const map = (cur[hit.name] ??= {}) as Node;
        const item = itemOf(f);
        if (kindOf(item) === 'object') {
          // A named element (an entrypoint, a resolver): one segment names it, the rest goes inside.
          const name = segs[i + 1] ?? '';
          if (name === '__proto__') return { error: 'reserved name; choose another' };
          if (i + 1 === segs.length - 1) {
            const b = parseToggle(value);
            if (b === undefined)
              return { error: `"${name}" needs a field, e.g. ${word}.${name}.${knownKeys(item)[0] ?? '…'}` };
            if (b) map[name] ??= {};
            return undefined;
          }
          return setFlat((map[name] ??= {}) as Node, item, segs.slice(i + 2), value, `${fieldPath}.*`, opts);
        }
        if (kindOf(item) === 'free') return setFree(map, segs.slice(i + 1), value);
        const r = convertLeaf(item, value, opts);
        if ('message' in r) return { error: r.message };
        defineKey(map, segs.slice(i + 1).join('.'), r.value);
        return undefined;
      }
      case 'free':
        // A section berth does not implement: kept as given (and warned by the decoder).
        if (last) {
          cur[hit.name] = value;
          return undefined;
        }
        return setFree((cur[hit.name] ??= {}) as Node, segs.slice(i + 1), value);
      default:
        return setLeaf(cur, hit.name, f, value, last, segs.slice(i + 1), fieldPath, opts);
    }
  }
  return undefined;
}

/** The declared key a label alternate stands for (`server` → `servers`). */
function canonicalOf(schema: Schema, alt: string): string {
  for (const [name, field] of Object.entries(entriesOf(schema)))
    if (metaOf(unwrap(field).schema).label?.name === alt) return name;
  return alt;
}

function setLeaf(
  cur: Node,
  key: string,
  leaf: Schema,
  value: string,
  last: boolean,
  rest: readonly string[],
  spath: string,
  opts: FlatOptions,
): FlatResult {
  if (!last) return { error: `unknown key "${rest.join('.')}": "${key}" has no sub-keys` };
  const r = convertLeaf(leaf, value, opts);
  if ('message' in r) return { error: r.message };
  cur[key] = r.value;
  const w = opts.warnings.value(spath, r.value);
  return w === undefined ? undefined : { warning: w };
}

function convertLeaf(
  leaf: Schema,
  value: string,
  opts: FlatOptions,
): { ok: true; value: unknown } | { ok: false; message: string } {
  return opts.convert === undefined ? { ok: true, value } : opts.convert(leaf, value);
}

function setFree(node: Node, segs: readonly string[], value: string): FlatResult {
  let cur = node;
  for (let j = 0; j < segs.length - 1; j++) {
    const k = segs[j] ?? '';
    const next = cur[k];
    cur = (typeof next === 'object' && next !== null ? next : (cur[k] = {})) as Node;
  }
  defineKey(cur, segs[segs.length - 1] ?? '', value);
  return undefined;
}

/** Assigns without ever touching a prototype (`__proto__` as a key is plain data here). */
function defineKey(target: Node, key: string, value: unknown): void {
  if (key === '__proto__')
    Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
  else target[key] = value;
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** Go's `strconv.ParseBool`, as Traefik reads `x=true`: these spellings and no others. */
export function parseToggle(value: string): boolean | undefined {
  const v = value.trim();
  return TRUE.has(v) ? true : FALSE.has(v) ? false : undefined;
}
