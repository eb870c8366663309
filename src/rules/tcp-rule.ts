import { compileTree, literalHosts } from './compile.ts';
import { parseRule } from './parser.ts';
import type { RuleNode } from './syntax.ts';
import { buildTcpMatcher, TCP_MATCHERS, tcpLiteralHosts } from './tcp-matchers.ts';
import type { RuleResult, TcpRule } from './types.ts';

/**
 * Parses and compiles a TCP router rule of the Traefik v3 language (HostSNI, HostSNIRegexp, ClientIP,
 * ALPN). Never throws: a bad rule is `{ ok: false, error }` with the position of the problem.
 */
export function parseTcpRule(rule: string): RuleResult<TcpRule> {
  const parsed = parseRule(rule, TCP_MATCHERS);
  if (!parsed.ok) return parsed;
  const compiled = compileTree(parsed.tree, buildTcpMatcher);
  if (!compiled.ok) return compiled;
  return {
    ok: true,
    rule: {
      match: compiled.match,
      hosts: literalHosts(parsed.tree, tcpLiteralHosts),
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
  return tree.kind === 'matcher' && tree.name === 'HostSNI' && tree.args[0] === '*';
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
