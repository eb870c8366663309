import { compileGoRegexp } from '../lib/go-regexp.ts';
import { buildClientIpTest } from './client-ip.ts';
import type { LeafResult } from './compile.ts';
import { isAscii, normalizeHostExpression } from './host-pattern.ts';
import { anyHeaderValue } from './http-matchers.ts';
import { compileTemplate, type TemplateKind } from './mux-template.ts';
import { unescapeQuery } from './query-string.ts';
import type { MatcherNode, MatcherTable } from './syntax.ts';
import type { HttpRequestView } from './types.ts';

/** The HTTP matchers of Traefik's v2 rule language (pkg/muxer/http/matcher_v2.go); each takes a list. */
export const HTTP_MATCHERS_V2: MatcherTable = {
  Host: 'many',
  HostHeader: 'many',
  HostRegexp: 'many',
  Path: 'many',
  PathPrefix: 'many',
  Method: 'many',
  Headers: 'many',
  HeadersRegexp: 'many',
  Query: 'many',
  ClientIP: 'many',
};

type Test = (req: HttpRequestView) => boolean;
type Built = { ok: true; test: Test } | { ok: false; error: string };

const fail = (node: MatcherNode, message: string): LeafResult<HttpRequestView> => ({
  ok: false,
  error: `${node.name} at ${node.pos}: ${message}`,
});

/** True when one of the tests passes: a v2 matcher given several values matches any of them. */
function anyOf(tests: readonly Test[]): Test {
  if (tests.length === 1) return tests[0] as Test;
  return (req) => tests.some((t) => t(req));
}

/** True when every test passes: Headers/Query given several pairs need all of them. */
function allOf(tests: readonly Test[]): Test {
  if (tests.length === 1) return tests[0] as Test;
  return (req) => tests.every((t) => t(req));
}

/** Builds one test per value, or the first error. */
function each(values: readonly string[], build: (value: string) => Built): Built {
  const tests: Test[] = [];
  for (const v of values) {
    const b = build(v);
    if (!b.ok) return b;
    tests.push(b.test);
  }
  return { ok: true, test: anyOf(tests) };
}

/** A route template matched against the request's routing path (Path: whole path, PathPrefix: its start). */
function pathTemplate(value: string, kind: TemplateKind): Built {
  if (!value.startsWith('/')) return { ok: false, error: `path must start with a slash, got ${JSON.stringify(value)}` };
  const t = compileTemplate(value, kind);
  if (!t.ok) return t;
  const re = t.re;
  return { ok: true, test: (req) => re.test(req.path) };
}

/**
 * Splits `Headers`/`HeadersRegexp`/`Query` values into key/value pairs as gorilla/mux does: an odd
 * count is refused, and a key given twice keeps its last value (mux builds a map).
 */
function pairs(values: readonly string[]): Map<string, string> | string {
  if (values.length % 2 !== 0) return `number of parameters must be a multiple of 2, got ${values.length}`;
  const out = new Map<string, string>();
  for (let i = 0; i < values.length; i += 2) out.set(values[i] as string, values[i + 1] as string);
  return out;
}

/**
 * The first value of `key` in a raw query string, as mux's findFirstQueryKey reads it: pairs split on
 * `&` or `;`, key and value query-unescaped (a pair with a bad escape is skipped); undefined when absent.
 */
function firstQueryValue(raw: string, key: string): string | undefined {
  for (const pair of raw.split(/[&;]/)) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    const k = unescapeQuery(eq === -1 ? pair : pair.slice(0, eq));
    if (k !== key) continue;
    const v = unescapeQuery(eq === -1 ? '' : pair.slice(eq + 1));
    if (v !== undefined) return v;
  }
  return undefined;
}

/**
 * Builds one HTTP matcher of the v2 language with Traefik's semantics (matcher_v2.go on its gorilla/mux
 * fork). Every matcher takes one or more values and matches when any does, except Headers,
 * HeadersRegexp and Query, whose key/value pairs must all match:
 * - Host, HostHeader: the host compared exactly and case-insensitively, a trailing dot ignored (no wildcards).
 * - HostRegexp: a route template (`{sub:[a-z]+}.example.com`), whole host, case-insensitive.
 * - Path, PathPrefix: route templates (`/api/{id:[0-9]+}`) on the routing path; the value must start with `/`.
 * - Method: upper-cased, exact.
 * - Headers(key, value, …): one value (one header line) equal to `value`; header names case-insensitive.
 * - HeadersRegexp(key, regexp, …): one value matching the Go regexp, unanchored.
 * - Query(`k=v`, …): the first `k` in the query matches the template `k=v` (`k=` takes any value);
 *   values are split at their first `=` and paired, so Query(`k`) alone is refused.
 * - ClientIP: IPs or CIDRs, any of them.
 */
export function buildHttpMatcherV2(node: MatcherNode): LeafResult<HttpRequestView> {
  const args = node.args;
  let built: Built;
  switch (node.name) {
    case 'Host':
    case 'HostHeader': {
      const bad = args.find((a) => !isAscii(a));
      if (bad !== undefined)
        return fail(node, `invalid value ${JSON.stringify(bad)}, non-ASCII characters are not allowed`);
      const hosts = new Set(args.map(normalizeHostExpression));
      if (hosts.size === 1) {
        const [host] = hosts;
        return { ok: true, test: (req) => req.host === host };
      }
      return { ok: true, test: (req) => hosts.has(req.host) };
    }
    case 'HostRegexp': {
      const bad = args.find((a) => !isAscii(a));
      if (bad !== undefined)
        return fail(node, `invalid value ${JSON.stringify(bad)}, non-ASCII characters are not allowed`);
      built = each(args, (value) => {
        const t = compileTemplate(value, 'host');
        if (!t.ok) return t;
        const re = t.re;
        return { ok: true, test: (req) => re.test(req.canonicalHost ?? req.host) };
      });
      break;
    }
    case 'Path':
      built = each(args, (value) => pathTemplate(value, 'path'));
      break;
    case 'PathPrefix':
      built = each(args, (value) => pathTemplate(value, 'prefix'));
      break;
    case 'Method': {
      const methods = new Set(args.map((m) => m.toUpperCase()));
      return { ok: true, test: (req) => methods.has(req.method) };
    }
    case 'Headers':
    case 'HeadersRegexp': {
      const map = pairs(args);
      if (typeof map === 'string') return fail(node, map);
      const tests: Test[] = [];
      for (const [name, value] of map) {
        const key = name.toLowerCase();
        if (node.name === 'Headers') {
          tests.push((req) => anyHeaderValue(req, key, (v) => v === value));
          continue;
        }
        const r = compileGoRegexp(value);
        if (!r.ok) return fail(node, `invalid regexp ${JSON.stringify(value)}: ${r.error}`);
        const re = r.re;
        tests.push((req) => anyHeaderValue(req, key, (v) => re.test(v)));
      }
      return { ok: true, test: allOf(tests) };
    }
    case 'Query': {
      const flat: string[] = [];
      for (const a of args) {
        const eq = a.indexOf('=');
        if (eq === -1) flat.push(a);
        else flat.push(a.slice(0, eq), a.slice(eq + 1));
      }
      if (flat.length % 2 !== 0)
        return fail(
          node,
          `number of parameters must be a multiple of 2, got ${JSON.stringify(flat)} (write key=value)`,
        );
      const tests: Test[] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const key = flat[i] as string;
        const t = compileTemplate(`${key}=${flat[i + 1] as string}`, 'query');
        if (!t.ok) return fail(node, t.error);
        const re = t.re;
        tests.push((req) => {
          const value = firstQueryValue(req.query, key);
          return re.test(value === undefined ? '' : `${key}=${value}`);
        });
      }
      return { ok: true, test: allOf(tests) };
    }
    case 'ClientIP':
      built = each(args, (value) => {
        const test = buildClientIpTest(value);
        if (test === undefined) return { ok: false, error: `invalid IP address or CIDR ${JSON.stringify(value)}` };
        return { ok: true, test: (req) => test(req.clientIp) };
      });
      break;
    default:
      return fail(node, 'unknown matcher');
  }
  return built.ok ? built : fail(node, built.error);
}

/** The literal hosts a single v2 HTTP matcher requires: all the values of Host or HostHeader. */
export function httpLiteralHostsV2(node: MatcherNode): readonly string[] | null {
  if (node.name !== 'Host' && node.name !== 'HostHeader') return null;
  return node.args.map(normalizeHostExpression);
}
