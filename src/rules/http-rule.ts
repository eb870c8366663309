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
 * The priority of a router without an explicit one, as Traefik v3 computes it: the rule's length in
 * bytes, minus 2 for each positive `Host(\`**.…\`)`, so a double wildcard ranks below the
 * single-label wildcards and exact hosts it covers.
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
