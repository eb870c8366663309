import { compileGoRegexp } from '../lib/go-regexp.ts';
import { buildClientIpTest } from './client-ip.ts';
import type { LeafResult } from './compile.ts';
import { hostExpressionTest, isAscii, isWildcardHost, normalizeHostExpression } from './host-pattern.ts';
import { parseQuery } from './query-string.ts';
import type { MatcherNode, MatcherTable } from './syntax.ts';
import type { HttpRequestView } from './types.ts';

/** The HTTP matchers of the v3 rule language and how many arguments each takes. */
export const HTTP_MATCHERS: MatcherTable = {
  Host: [1],
  HostRegexp: [1],
  Path: [1],
  PathPrefix: [1],
  PathRegexp: [1],
  Method: [1],
  Header: [2],
  HeaderRegexp: [2],
  Query: [1, 2],
  QueryRegexp: [1, 2],
  ClientIP: [1],
};

type Test = (req: HttpRequestView) => boolean;

const fail = (node: MatcherNode, message: string): LeafResult<HttpRequestView> => ({
  ok: false,
  error: `${node.name} at ${node.pos}: ${message}`,
});

const pass = (test: Test): LeafResult<HttpRequestView> => ({ ok: true, test });

/**
 * Whether one value of the header `key` (lower case) passes `pred`. With the request's header lines
 * each line is a value of its own, as in Go's header map; without them Node's header object is used,
 * where repeated lines are joined with ", " (and only the first is kept for some headers).
 */
export function anyHeaderValue(req: HttpRequestView, key: string, pred: (value: string) => boolean): boolean {
  const raw = req.rawHeaders;
  if (raw !== undefined) {
    for (let i = 0; i + 1 < raw.length; i += 2) {
      const name = raw[i] as string;
      if (name.length === key.length && name.toLowerCase() === key && pred(raw[i + 1] as string)) return true;
    }
    return false;
  }
  // Own properties only: a rule naming `__proto__` or `constructor` must not reach Object.prototype.
  if (!Object.hasOwn(req.headers, key)) return false;
  const v = req.headers[key];
  return typeof v === 'string' ? pred(v) : Array.isArray(v) ? v.some(pred) : false;
}

/**
 * Builds one HTTP matcher with Traefik v3.7 semantics (pkg/muxer/http/matcher.go): Host compares the
 * normalised host case-insensitively (first-label wildcards, see `hostExpressionTest`); the *Regexp
 * matchers are Go regexps matched unanchored; Path is exact, PathPrefix a plain prefix (both must start
 * with `/`); Method compares upper-cased; Header compares one value (one header line) exactly;
 * Query(key) needs the key with an empty value, Query(key, value) one value equal to it; ClientIP takes
 * an IP or CIDR. Empty values never get here: the parser refuses them, as Traefik does.
 */
export function buildHttpMatcher(node: MatcherNode): LeafResult<HttpRequestView> {
  const a0 = node.args[0] as string;
  const a1 = node.args[1];
  switch (node.name) {
    case 'Host': {
      if (!isAscii(a0)) return fail(node, `invalid value ${JSON.stringify(a0)}, non-ASCII characters are not allowed`);
      const expr = normalizeHostExpression(a0);
      if (!isWildcardHost(expr)) return pass((req) => req.host === expr);
      const test = hostExpressionTest(expr);
      return pass((req) => test(req.host));
    }
    case 'HostRegexp': {
      if (!isAscii(a0)) return fail(node, `invalid value ${JSON.stringify(a0)}, non-ASCII characters are not allowed`);
      return withRegexp(node, a0, (re) => (req) => re.test(req.canonicalHost ?? req.host));
    }
    case 'Path':
      if (!a0.startsWith('/')) return fail(node, `path ${JSON.stringify(a0)} does not start with a '/'`);
      return pass((req) => req.path === a0);
    case 'PathPrefix':
      if (!a0.startsWith('/')) return fail(node, `path ${JSON.stringify(a0)} does not start with a '/'`);
      return pass((req) => req.path.startsWith(a0));
    case 'PathRegexp':
      return withRegexp(node, a0, (re) => (req) => re.test(req.path));
    case 'Method': {
      const method = a0.toUpperCase();
      return pass((req) => req.method === method);
    }
    case 'Header': {
      const key = a0.toLowerCase();
      const value = a1 as string;
      const equal = (v: string): boolean => v === value;
      return pass((req) => anyHeaderValue(req, key, equal));
    }
    case 'HeaderRegexp': {
      const key = a0.toLowerCase();
      return withRegexp(node, a1 as string, (re) => {
        const test = (v: string): boolean => re.test(v);
        return (req) => anyHeaderValue(req, key, test);
      });
    }
    case 'Query':
      return queryValue(a0, a1 ?? '');
    case 'QueryRegexp':
      if (a1 === undefined) return queryValue(a0, '');
      return withRegexp(
        node,
        a1,
        (re) => (req) =>
          parseQuery(req.query)
            .get(a0)
            ?.some((v) => re.test(v)) === true,
      );
    case 'ClientIP': {
      const test = buildClientIpTest(a0);
      if (test === undefined) return fail(node, `invalid IP address or CIDR ${JSON.stringify(a0)}`);
      return pass((req) => test(req.clientIp));
    }
    default:
      return fail(node, 'unknown matcher');
  }
}

function queryValue(key: string, value: string): LeafResult<HttpRequestView> {
  return pass((req) => parseQuery(req.query).get(key)?.includes(value) === true);
}

function withRegexp(node: MatcherNode, source: string, build: (re: RegExp) => Test): LeafResult<HttpRequestView> {
  const r = compileGoRegexp(source);
  if (!r.ok) return fail(node, `invalid regexp ${JSON.stringify(source)}: ${r.error}`);
  return pass(build(r.re));
}

/** The literal hosts a single HTTP matcher requires: only a non-wildcard Host has them. */
export function httpLiteralHosts(node: MatcherNode): readonly string[] | null {
  if (node.name !== 'Host') return null;
  const expr = normalizeHostExpression(node.args[0] as string);
  return isWildcardHost(expr) ? null : [expr];
}
