import { compileGoRegexp } from '../lib/go-regexp.ts';

/**
 * Traefik v2's Host/HostRegexp/Path/PathPrefix/Query values (and v2 HostSNIRegexp) are gorilla/mux
 * route templates, as Traefik's fork of gorilla/mux reads them: literal text with `{name}` or
 * `{name:pattern}` variables (`/api/{id:[0-9]+}`, `{sub:[a-z]+}.example.com`). This turns one into
 * the Go regexp mux builds from it.
 */

/** What the template matches, which sets the default variable pattern and the anchoring. */
export type TemplateKind = 'host' | 'path' | 'prefix' | 'query';

const DEFAULT_PATTERN: Readonly<Record<TemplateKind, string>> = {
  host: '[^.]+',
  path: '[^/]+',
  prefix: '[^/]+',
  query: '.*',
};

/** Go's `regexp.QuoteMeta`: every character special to the syntax behind a backslash. */
export function goQuoteMeta(s: string): string {
  return s.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** The start and end (exclusive) of each top-level `{…}`, or an error for unbalanced braces (mux's braceIndices). */
function braceIndices(s: string): number[] | string {
  let level = 0;
  let start = 0;
  const idxs: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === '{') {
      if (++level === 1) start = i;
    } else if (c === '}') {
      if (--level === 0) idxs.push(start, i + 1);
      else if (level < 0) return `unbalanced braces in ${JSON.stringify(s)}`;
    }
  }
  if (level !== 0) return `unbalanced braces in ${JSON.stringify(s)}`;
  return idxs;
}

/**
 * The Go regexp source mux builds from a template, or why it refuses it: literal text is quoted, each
 * variable becomes a group of its pattern (`[^.]+` in a host, `[^/]+` in a path, `.*` in a query when
 * none is given); host templates are case-insensitive (`(?i)`); everything is anchored at both ends
 * except a path prefix, which is anchored at the start only; a query template whose value is empty
 * (`key=`) takes any value. As in mux, a variable with an empty name or pattern is refused, and so is
 * a variable pattern that is not a valid regexp on its own (`{a:x)|(y}`).
 */
export function templateToGoRegexp(tpl: string, kind: TemplateKind): { source: string } | { error: string } {
  const idxs = braceIndices(tpl);
  if (typeof idxs === 'string') return { error: idxs };
  let out = kind === 'host' ? '(?i)^' : '^';
  let end = 0;
  for (let i = 0; i < idxs.length; i += 2) {
    const open = idxs[i] as number;
    const close = idxs[i + 1] as number;
    const raw = tpl.slice(end, open);
    end = close;
    const inner = tpl.slice(open + 1, close - 1);
    const colon = inner.indexOf(':');
    const name = colon === -1 ? inner : inner.slice(0, colon);
    const pattern = colon === -1 ? DEFAULT_PATTERN[kind] : inner.slice(colon + 1);
    if (name === '' || pattern === '')
      return { error: `missing name or pattern in ${JSON.stringify(tpl.slice(open, close))}` };
    const alone = compileGoRegexp(`^${pattern}$`);
    if (!alone.ok) return { error: `invalid pattern in ${JSON.stringify(tpl.slice(open, close))}: ${alone.error}` };
    out += `${goQuoteMeta(raw)}(?:${pattern})`;
  }
  out += goQuoteMeta(tpl.slice(end));
  if (kind === 'query' && tpl.slice(tpl.indexOf('=') + 1) === '') out += DEFAULT_PATTERN.query;
  if (kind !== 'prefix') out += '$';
  return { source: out };
}

/** A template compiled to a test (Go regexp semantics, with the backtracking guard), or an error. */
export function compileTemplate(
  tpl: string,
  kind: TemplateKind,
): { ok: true; re: RegExp } | { ok: false; error: string } {
  const t = templateToGoRegexp(tpl, kind);
  if ('error' in t) return { ok: false, error: t.error };
  const r = compileGoRegexp(t.source);
  if (!r.ok) return { ok: false, error: `invalid template ${JSON.stringify(tpl)}: ${r.error}` };
  return { ok: true, re: r.re };
}
