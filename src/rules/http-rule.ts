import { compileTree, literalHosts, positiveMatchers } from './compile.ts';
import { buildHttpMatcher, HTTP_MATCHERS, httpLiteralHosts } from './http-matchers.ts';
import { parseRule } from './parser.ts';
import type { HttpRule, RuleResult } from './types.ts';

/**
 * Parses and compiles an HTTP router rule of the Traefik v3 language (see `HTTP_MATCHERS`).
 * Never throws: a bad rule is `{ ok: false, error }` with the position of the problem.
 */
export function parseHttpRule(rule: string): RuleResult<HttpRule> {
  const parsed = parseRule(rule, HTTP_MATCHERS);
  if (!parsed.ok) return parsed;
  const compiled = compileTree(parsed.tree, buildHttpMatcher);
  if (!compiled.ok) return compiled;
  return { ok: true, rule: { match: compiled.match, hosts: literalHosts(parsed.tree, httpLiteralHosts) } };
}

/**
 * The priority of a router without an explicit one, as Traefik computes it: the rule's length in
 * bytes (Go's `len`). Traefik v3.8 adds the `**.` double wildcard and subtracts its two stars for each
 * positive `Host(\`**.…\`)`, so it ranks below the single-label wildcards and exact hosts it covers;
 * berth does the same (a v3.7 rule never uses `**.`, which matched nothing there, so no v3.7 priority
 * changes).
 */
export function defaultPriority(rule: string): number {
  const length = Buffer.byteLength(rule, 'utf8');
  const parsed = parseRule(rule, HTTP_MATCHERS);
  if (!parsed.ok) return length;
  let priority = length;
  for (const m of positiveMatchers(parsed.tree)) {
    if (m.name === 'Host' && (m.args[0] as string).startsWith('**.')) priority -= 2;
  }
  return priority;
}
