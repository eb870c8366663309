/**
 * Host expressions as Traefik's Host and HostSNI matchers accept them (muxer.DomainMatchHostExpression):
 * an exact name, or a wildcard whose first label is `*`. All comparisons take hosts already normalised
 * by `normalizeHost` and expressions normalised by `normalizeHostExpression`.
 */

/** Whether the expression is a wildcard rather than one literal host. */
export function isWildcardHost(expr: string): boolean {
  return expr.charCodeAt(0) === 0x2a /* * */;
}

/** Lower-cases the expression and drops one trailing dot, the form requests are compared in. */
export function normalizeHostExpression(expr: string): string {
  const lower = expr.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/**
 * Builds the test for one normalised host expression. Traefik v3.7 replaces the host's first label
 * with `*` and compares: `*.example.com` matches exactly one more label (and not `example.com`
 * itself), a lone `*` matches a host without any dot (`localhost`), `*x.example.com` never matches.
 * `**.example.com` (one or more labels) is Traefik v3.8's double wildcard, accepted ahead of it: in
 * v3.7 it matched nothing, so no v3.7 configuration depends on it.
 */
export function hostExpressionTest(expr: string): (host: string) => boolean {
  if (expr.startsWith('**.')) {
    const suffix = expr.slice(2); // ".example.com"
    return (host) => host.length > suffix.length && host.endsWith(suffix);
  }
  if (isWildcardHost(expr)) {
    const rest = expr.slice(1); // "*.example.com" → ".example.com"; "*" → ""
    if (rest !== '' && !rest.startsWith('.')) return () => false;
    return (host) => {
      if (host === '') return false;
      const dot = host.indexOf('.');
      return dot === -1 ? rest === '' : host.length - dot === rest.length && host.endsWith(rest);
    };
  }
  return (host) => host === expr;
}

/** Whether every character is ASCII, as Traefik requires of Host, HostRegexp and HostSNI values. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
