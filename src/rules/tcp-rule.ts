import type { RuleSyntax } from '../config/rule-syntax.ts';
import { compileTree, literalHosts } from './compile.ts';
import { parseRule } from './parser.ts';
import type { RuleNode } from './syntax.ts';
import { buildTcpMatcher, TCP_MATCHERS, tcpLiteralHosts } from './tcp-matchers.ts';
import { buildTcpMatcherV2, TCP_MATCHERS_V2, tcpLiteralHostsV2 } from './tcp-matchers-v2.ts';
import type { RuleResult, TcpRule } from './types.ts';

const LANGUAGES = {
  v3: { table: TCP_MATCHERS, build: buildTcpMatcher, literal: tcpLiteralHosts },
  v2: { table: TCP_MATCHERS_V2, build: buildTcpMatcherV2, literal: tcpLiteralHostsV2 },
} as const;

/**
 * Parses and compiles a TCP router rule of the Traefik v3 language (HostSNI, HostSNIRegexp, ClientIP,
 * ALPN), or of the v2 one (the same matchers taking lists) for a router whose `ruleSyntax` is v2.
 * Never throws: a bad rule is `{ ok: false, error }` with the position of the problem.
 */
export function parseTcpRule(rule: string, syntax: RuleSyntax = 'v3'): RuleResult<TcpRule> {
  const lang = LANGUAGES[syntax];
  const parsed = parseRule(rule, lang.table);
  if (!parsed.ok) return parsed;
  const compiled = compileTree(parsed.tree, lang.build);
  if (!compiled.ok) return compiled;
  return {
    ok: true,
    rule: {
      match: compiled.match,
      hosts: literalHosts(parsed.tree, lang.literal),
      catchAll: isCatchAll(parsed.tree),
    },
  };
}

/**
 * Exactly `HostSNI(\`*\`)`, as Traefik's TCP muxer defines its catch-all: a TLS connection it takes
 * goes to a matching HTTPS router instead. Combined with anything (`&& ClientIP(…)`) the rule is an
 * ordinary one that wins over HTTPS routers.
 */
function isCatchAll(tree: RuleNode): boolean {
  return tree.kind === 'matcher' && tree.name === 'HostSNI' && tree.args.length === 1 && tree.args[0] === '*';
}

/**
 * The priority of a TCP router without an explicit one, as Traefik v3 computes it: the rule's length
 * in bytes, except a lone HostSNI(`*`), which gets -1 so the fallback is evaluated last.
 */
export function defaultTcpPriority(rule: string): number {
  const parsed = parseRule(rule, TCP_MATCHERS);
  if (parsed.ok && parsed.tree.kind === 'matcher' && parsed.tree.name === 'HostSNI' && parsed.tree.args[0] === '*')
    return -1;
  return Buffer.byteLength(rule, 'utf8');
}
