import { domainToASCII } from 'node:url';
import { buildClientIpTest } from './client-ip.ts';
import type { LeafResult } from './compile.ts';
import { normalizeHostExpression } from './host-pattern.ts';
import { compileTemplate } from './mux-template.ts';
import type { MatcherNode, MatcherTable } from './syntax.ts';
import type { TcpConnectionView } from './types.ts';

/** The TCP matchers of Traefik's v2 rule language (pkg/muxer/tcp/matcher_v2.go); each takes a list. */
export const TCP_MATCHERS_V2: MatcherTable = { HostSNI: 'many', HostSNIRegexp: 'many', ClientIP: 'many', ALPN: 'many' };

/** The ALPN protocol of the TLS-ALPN-01 challenge, reserved for ACME as in Traefik. */
const ACME_TLS_ALPN = 'acme-tls/1';

/** Go's `^[[:word:]\.\-\:]+$`, what Traefik accepts as a HostSNI name. */
const HOST_OR_IP = /^[0-9A-Za-z_.:-]+$/;

type Test = (conn: TcpConnectionView) => boolean;

const fail = (node: MatcherNode, message: string): LeafResult<TcpConnectionView> => ({
  ok: false,
  error: `${node.name} at ${node.pos}: ${message}`,
});

/** A v2 HostSNI value as Traefik reads it: `*`, or a name or IP (an IDN is taken as its punycode). */
function sniValue(value: string): string | undefined {
  if (value === '*') return value;
  if (HOST_OR_IP.test(value)) return normalizeHostExpression(value);
  const ascii = domainToASCII(value);
  return ascii !== '' && HOST_OR_IP.test(ascii) ? normalizeHostExpression(ascii) : undefined;
}

/**
 * Builds one TCP matcher of the v2 language with Traefik's semantics (matcher_v2.go): each matcher
 * takes one or more values and matches when any does.
 * - HostSNI: exact names compared case-insensitively, a trailing dot ignored; no wildcards but `*`.
 *   A rule whose first value is `*` matches every connection, TLS or not; otherwise a connection
 *   without SNI matches nothing, and a `*` among the values matches any SNI.
 * - HostSNIRegexp: route templates (`{sub:[a-z]+}.example.com`), whole name, case-insensitive.
 * - ALPN: one offered protocol equal to one of the values (`acme-tls/1` is reserved).
 * - ClientIP: IPs or CIDRs.
 */
export function buildTcpMatcherV2(node: MatcherNode): LeafResult<TcpConnectionView> {
  const args = node.args;
  switch (node.name) {
    case 'HostSNI': {
      const hosts: string[] = [];
      for (const a of args) {
        const h = sniValue(a);
        if (h === undefined) return fail(node, `${JSON.stringify(a)} is not a valid hostname or IP`);
        hosts.push(h);
      }
      if (hosts[0] === '*') return { ok: true, test: () => true };
      if (hosts.includes('*')) return { ok: true, test: (c) => c.sni !== '' };
      const set = new Set(hosts);
      return { ok: true, test: (c) => c.sni !== '' && set.has(c.sni) };
    }
    case 'HostSNIRegexp': {
      const tests: RegExp[] = [];
      for (const a of args) {
        const t = compileTemplate(a, 'host');
        if (!t.ok) return fail(node, `${JSON.stringify(a)} is not a valid pattern: ${t.error}`);
        tests.push(t.re);
      }
      return { ok: true, test: (c) => tests.some((re) => re.test(c.sni)) };
    }
    case 'ALPN': {
      if (args.includes(ACME_TLS_ALPN))
        return fail(node, `${JSON.stringify(ACME_TLS_ALPN)} is reserved for ACME and not allowed`);
      const protos = new Set(args);
      return { ok: true, test: (c) => c.alpn.some((p) => protos.has(p)) };
    }
    case 'ClientIP': {
      const tests: Test[] = [];
      for (const a of args) {
        const test = buildClientIpTest(a);
        if (test === undefined) return fail(node, `invalid IP address or CIDR ${JSON.stringify(a)}`);
        tests.push((c) => test(c.clientIp));
      }
      return { ok: true, test: (c) => c.clientIp !== '' && tests.some((t) => t(c)) };
    }
    default:
      return fail(node, 'unknown matcher');
  }
}

/** The literal SNI names a single v2 TCP matcher requires: the values of a HostSNI without `*`. */
export function tcpLiteralHostsV2(node: MatcherNode): readonly string[] | null {
  if (node.name !== 'HostSNI') return null;
  const hosts: string[] = [];
  for (const a of node.args) {
    const h = sniValue(a);
    if (h === undefined || h === '*') return null;
    hosts.push(h);
  }
  return hosts;
}
