import type { RuleSyntax } from '../config/rule-syntax.ts';
import { compileTree, literalHosts, positiveMatchers } from './compile.ts';
import { buildHttpMatcher, HTTP_MATCHERS, httpLiteralHosts } from './http-matchers.ts';
import { buildHttpMatcherV2, HTTP_MATCHERS_V2, httpLiteralHostsV2 } from './http-matchers-v2.ts';
import { parseRule } from './parser.ts';
import type { HttpRule, RuleResult } from './types.ts';

const LANGUAGES = {
  v3: { table: HTTP_MATCHERS, build: buildHttpMatcher, literal: httpLiteralHosts },
  v2: { table: HTTP_MATCHERS_V2, build: buildHttpMatcherV2, literal: httpLiteralHostsV2 },
} as const;

/**
 * Parses and compiles an HTTP router rule of the Traefik v3 language (see `HTTP_MATCHERS`), or of the
 * v2 one (`HTTP_MATCHERS_V2`) for a router whose `ruleSyntax` is v2. Never throws: a bad rule is
 * `{ ok: false, error }` with the position of the problem.
 */
export function parseHttpRule(rule: string, syntax: RuleSyntax = 'v3'): RuleResult<HttpRule> {
  const lang = LANGUAGES[syntax];
  const parsed = parseRule(rule, lang.table);
  if (!parsed.ok) return parsed;
  const compiled = compileTree(parsed.tree, lang.build);
  if (!compiled.ok) return compiled;
  return { ok: true, rule: { match: compiled.match, hosts: literalHosts(parsed.tree, lang.literal) } };
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
