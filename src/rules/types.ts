import type { IncomingHttpHeaders } from 'node:http';

/** What an HTTP rule can look at: computed once per request by the entrypoint. */
export interface HttpRequestView {
  /** Normalised host: lower case, no port, no trailing dot (see `normalizeHost`). */
  readonly host: string;
  /**
   * The host as Traefik's request decorator canonicalises it — lower case, no port, but a trailing
   * dot kept — when it differs from `host`. HostRegexp matches this one, as in Traefik, where
   * HostRegexp(`^example\.com$`) does not match `example.com.` (Host does).
   */
  readonly canonicalHost?: string;
  /** The canonical request path used for routing (no query). */
  readonly path: string;
  readonly method: string;
  /** Node's lower-cased header object, after the entrypoint removed untrusted forwarded headers. */
  readonly headers: IncomingHttpHeaders;
  /**
   * The header lines as received (`[name, value, name, value, …]`, Node's `rawHeaders`), kept in step
   * with `headers`. When given, Header and HeaderRegexp test each line on its own, as Go's header map
   * does: a header sent twice matches either value, a comma-joined line is one value. `headers` cannot
   * tell the two apart (Node joins repeated lines, and keeps only the first of some, e.g. Content-Type).
   */
  readonly rawHeaders?: readonly string[];
  /** The raw query string without the leading `?` ('' when none). */
  readonly query: string;
  /**
   * The connection's peer address (the PROXY protocol source when the entrypoint reads it), without
   * the `::ffff:` prefix. Never taken from X-Forwarded-For: Traefik's ClientIP matcher reads the
   * request's remote address only.
   */
  readonly clientIp: string;
}

/** A compiled HTTP rule. */
export interface HttpRule {
  readonly match: (req: HttpRequestView) => boolean;
  /**
   * The literal hosts one of which the request's host must equal for the rule to match, or `null`
   * when the rule can match other hosts too (no Host matcher, HostRegexp, `||` with a non-host term,
   * `!Host`). Used to build the host index, so it must never be narrower than the truth.
   */
  readonly hosts: readonly string[] | null;
}

/** What a TCP rule can look at: computed once per connection. */
export interface TcpConnectionView {
  /** Normalised SNI from the ClientHello; '' for a connection without TLS or without SNI. */
  readonly sni: string;
  /** ALPN protocols offered in the ClientHello. */
  readonly alpn: readonly string[];
  readonly clientIp: string;
  /** Whether the connection starts with a TLS ClientHello. */
  readonly tls: boolean;
}

/** A compiled TCP rule. */
export interface TcpRule {
  readonly match: (conn: TcpConnectionView) => boolean;
  /** Literal SNI names the rule needs (as `HttpRule.hosts`); null when not restricted to literals. */
  readonly hosts: readonly string[] | null;
  /** True when the rule is exactly `HostSNI(\`*\`)`: the fallback that HTTPS routers win over. */
  readonly catchAll: boolean;
}

export type RuleResult<T> = { readonly ok: true; readonly rule: T } | { readonly ok: false; readonly error: string };
