import { compileGoRegexp } from '../lib/go-regexp.ts';
import { buildClientIpTest } from './client-ip.ts';
import type { LeafResult } from './compile.ts';
import { hostExpressionTest, isAscii, isWildcardHost, normalizeHostExpression } from './host-pattern.ts';
import type { MatcherNode, MatcherTable } from './syntax.ts';
import type { TcpConnectionView } from './types.ts';

/** The TCP matchers of the v3 rule language; each takes exactly one argument. */
export const TCP_MATCHERS: MatcherTable = { HostSNI: [1], HostSNIRegexp: [1], ClientIP: [1], ALPN: [1] };

/** The ALPN protocol of the TLS-ALPN-01 challenge, reserved for ACME as in Traefik. */
const ACME_TLS_ALPN = 'acme-tls/1';

/** Go's `^[[:word:]\.\-\:]+$`, what Traefik accepts as a HostSNI name (an optional `*.` prefix aside). */
const HOST_OR_IP = /^[0-9A-Za-z_.:-]+$/;

const fail = (node: MatcherNode, message: string): LeafResult<TcpConnectionView> => ({
  ok: false,
  error: `${node.name} at ${node.pos}: ${message}`,
});

/**
 * Validates a HostSNI value and returns its normalised form, or undefined. Non-ASCII names are
 * refused as Traefik refuses them (write the punycode, `xn--…`, which is what the ClientHello carries).
 * `**.` is Traefik v3.8's double wildcard, accepted as in Host.
 */
function sniExpression(value: string): string | undefined {
  const wildcard = value.startsWith('**.') ? '**.' : value.startsWith('*.') ? '*.' : '';
  const name = value.slice(wildcard.length);
  if (!isAscii(name) || !HOST_OR_IP.test(name)) return undefined;
  return normalizeHostExpression(wildcard + name);
}

/**
 * Builds one TCP matcher with Traefik v3.7 semantics (pkg/muxer/tcp/matcher.go): HostSNI(`*`) matches
 * every connection, TLS or not; any other HostSNI (exact or first-label wildcard, compared
 * case-insensitively without a trailing dot) never matches a connection without SNI;
 * HostSNIRegexp is a Go regexp matched unanchored on the SNI; ALPN matches one offered protocol
 * (`acme-tls/1` is reserved); ClientIP takes an IP or CIDR.
 */
export function buildTcpMatcher(node: MatcherNode): LeafResult<TcpConnectionView> {
  const value = node.args[0] as string;
  switch (node.name) {
    case 'HostSNI': {
      if (value === '*') return { ok: true, test: () => true };
      const expr = sniExpression(value);
      if (expr === undefined) return fail(node, `${JSON.stringify(value)} is not a valid hostname`);
      if (!isWildcardHost(expr)) return { ok: true, test: (c) => c.sni !== '' && c.sni === expr };
      const test = hostExpressionTest(expr);
      return { ok: true, test: (c) => c.sni !== '' && test(c.sni) };
    }
    case 'HostSNIRegexp': {
      if (!isAscii(value)) return fail(node, `${JSON.stringify(value)} is not a valid hostname`);
      const r = compileGoRegexp(value);
      if (!r.ok) return fail(node, `invalid regexp ${JSON.stringify(value)}: ${r.error}`);
      const re = r.re;
      return { ok: true, test: (c) => re.test(c.sni) };
    }
    case 'ALPN':
      if (value === ACME_TLS_ALPN) return fail(node, `${JSON.stringify(value)} is reserved for ACME and not allowed`);
      if (value === '') return fail(node, 'the protocol must not be empty');
      return { ok: true, test: (c) => c.alpn.includes(value) };
    case 'ClientIP': {
      const test = buildClientIpTest(value);
      if (test === undefined) return fail(node, `invalid IP address or CIDR ${JSON.stringify(value)}`);
      return { ok: true, test: (c) => test(c.clientIp) };
    }
    default:
      return fail(node, 'unknown matcher');
  }
}

/** The literal SNI names a single TCP matcher requires: only HostSNI with a plain name has them. */
export function tcpLiteralHosts(node: MatcherNode): readonly string[] | null {
  if (node.name !== 'HostSNI') return null;
  const expr = sniExpression(node.args[0] as string);
  return expr === undefined || isWildcardHost(expr) || node.args[0] === '*' ? null : [expr];
}
