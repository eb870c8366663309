/**
 * Host expressions as Traefik's Host and HostSNI matchers accept them: an exact name, `*.example.com`
 * (exactly one more label) or `**.example.com` (one or more labels); neither wildcard matches
 * `example.com` itself. All comparisons take hosts already normalised by `normalizeHost`.
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

/** Builds the test for one normalised host expression. */
export function hostExpressionTest(expr: string): (host: string) => boolean {
  if (expr.startsWith('**.')) {
    const suffix = expr.slice(2); // ".example.com"
    return (host) => host.length > suffix.length && host.endsWith(suffix);
  }
  if (isWildcardHost(expr)) {
    const rest = expr.slice(1); // "*.example.com" → ".example.com"; "*x.com" can never match
    if (!rest.startsWith('.')) return () => false;
    return (host) => {
      const dot = host.indexOf('.');
      return dot > 0 && host.length - dot === rest.length && host.endsWith(rest);
    };
  }
  return (host) => host === expr;
}

/** Whether every character is ASCII, as Traefik requires of Host and HostRegexp values. */
export function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return false;
  return true;
}
