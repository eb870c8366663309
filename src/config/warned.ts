/**
 * Every key of the configuration that berth accepts without effect, and what happens instead: the
 * one table the decoders warn from (at load, in the log, and in `berth check`). Implementing a key
 * is removing its line here. Paths are schema paths: names of routers, entrypoints, resolvers, … are
 * `*`. An entry with `when` concerns some values of a key that otherwise works.
 */
import { NO_WARNINGS, type Warnings } from './schema/issues.ts';
import { RULE_SYNTAXES } from './rule-syntax.ts';

/**
 * What berth does instead of what a key asks for: always, when the key is given at all (the key is
 * then left out of the decoded configuration), or only for the values that ask for something else
 * (`when`; the value is kept: `disableSessionTickets: false` is what berth does anyway).
 */
export type Warned = string | { readonly when: (value: unknown) => boolean; readonly instead: string };

const TRACING = 'berth has no tracing; requests are not traced';
const OTHER_PROVIDER = 'berth reads only the docker, file and http providers; this provider is not started';
const ROTATION = 'berth does not rotate its log file: rotate it with logrotate, then send SIGUSR1';

const ACME_DEFAULT = 'berth orders with its defaults (acme-client)';
const NO_H2_PING =
  'no HTTP/2 pings are sent to servers; idle connections (and h2c sessions) close after idleConnTimeout';

/** Static configuration keys without effect. */
export const WARNED_STATIC: Readonly<Record<string, Warned>> = {
  'entryPoints.*.allowACMEByPass': {
    when: (v) => v === true,
    instead: 'berth answers ACME HTTP-01 challenges itself on every entrypoint, before any router',
  },
  'entryPoints.*.http.encodeQuerySemicolons': 'query strings are forwarded as received',
  'entryPoints.*.http2.maxDecoderHeaderTableSize': "Node's HTTP/2 header table size (4096 bytes) is used",
  'entryPoints.*.http2.maxEncoderHeaderTableSize': "Node's HTTP/2 header table size (4096 bytes) is used",
  'entryPoints.*.http3': 'HTTP/3 is not implemented; the entrypoint serves HTTP/1.1 and HTTP/2 only',
  'entryPoints.*.forwardedHeaders.notAppendXForwardedFor': {
    when: (v) => v === true,
    instead: 'the client address is always appended to X-Forwarded-For',
  },
  'entryPoints.*.transport.respondingTimeouts.writeTimeout':
    'responses have no write deadline; idleTimeout and the client closing end a stalled response',
  'entryPoints.*.transport.keepAliveMaxRequests': 'keep-alive connections serve requests until idleTimeout',
  'entryPoints.*.transport.keepAliveMaxTime': 'keep-alive connections serve requests until idleTimeout',
  'entryPoints.*.observability.tracing': { when: (v) => v === true, instead: TRACING },
  'entryPoints.*.observability.traceVerbosity': TRACING,
  'providers.docker.username': 'the Docker API is reached without HTTP basic authentication',
  'providers.docker.password': 'the Docker API is reached without HTTP basic authentication',
  'providers.docker.httpClientTimeout':
    'requests to the Docker API use their own timeouts; the event stream reconnects with backoff',
  'providers.docker.tls.caOptional': {
    when: (v) => v === true,
    instead: 'the Docker daemon certificate is always checked against tls.ca',
  },
  'providers.file.debugLogGeneratedTemplate': {
    when: (v) => v === true,
    instead: 'files are read as plain YAML, TOML or JSON, without Go templates',
  },
  'providers.http.tls.caOptional': {
    when: (v) => v === true,
    instead: 'the endpoint certificate is always checked against tls.ca',
  },
  'providers.swarm': OTHER_PROVIDER,
  'providers.kubernetesCRD': OTHER_PROVIDER,
  'providers.kubernetesIngress': OTHER_PROVIDER,
  'providers.kubernetesGateway': OTHER_PROVIDER,
  'providers.kubernetesIngressNGINX': OTHER_PROVIDER,
  'providers.knative': OTHER_PROVIDER,
  'providers.consul': OTHER_PROVIDER,
  'providers.consulCatalog': OTHER_PROVIDER,
  'providers.nomad': OTHER_PROVIDER,
  'providers.ecs': OTHER_PROVIDER,
  'providers.etcd': OTHER_PROVIDER,
  'providers.redis': OTHER_PROVIDER,
  'providers.zooKeeper': OTHER_PROVIDER,
  'providers.rest': OTHER_PROVIDER,
  'providers.plugin': OTHER_PROVIDER,
  'certificatesResolvers.*.acme.certificateTimeout': ACME_DEFAULT,
  'certificatesResolvers.*.acme.clientResponseHeaderTimeout': ACME_DEFAULT,
  'certificatesResolvers.*.tailscale':
    'only ACME resolvers are implemented; routers naming this resolver get no certificate from it',
  'api.basePath': 'the API and dashboard are served at the root of api.listen',
  'api.dashboardName': 'the dashboard shows no custom name',
  'api.disableDashboardAd': { when: (v) => v === false, instead: 'the dashboard shows no advertisement anyway' },
  'log.noColor': { when: (v) => v === false, instead: "berth's log lines are never coloured" },
  'log.maxSize': ROTATION,
  'log.maxBackups': ROTATION,
  'log.maxAge': ROTATION,
  'log.compress': ROTATION,
  'log.otlp': 'logs are written to the console or log.filePath only, not exported over OpenTelemetry',
  'accessLog.dualOutput': 'the access log is written to accessLog.filePath (or stdout) only',
  'accessLog.otlp': 'the access log is written to accessLog.filePath (or stdout) only, not exported over OpenTelemetry',
  'metrics.datadog': 'only Prometheus metrics are implemented',
  'metrics.statsD': 'only Prometheus metrics are implemented',
  'metrics.influxDB2': 'only Prometheus metrics are implemented',
  'metrics.otlp': 'only Prometheus metrics are implemented',
  'ping.terminatingStatusCode': '/ping answers 200 until the process has stopped serving',
  'serversTransport.forwardingTimeouts.readIdleTimeout': NO_H2_PING,
  'serversTransport.forwardingTimeouts.pingTimeout': NO_H2_PING,
  'serversTransport.spiffe':
    'SPIFFE is not implemented; upstream certificates are checked against rootCAs and the system roots',
  'global.checkNewVersion': { when: (v) => v === true, instead: 'berth never checks for new versions' },
  'global.sendAnonymousUsage': { when: (v) => v === true, instead: 'berth never sends usage data' },
  'global.notAppendXForwardedFor': {
    when: (v) => v === true,
    instead: 'the client address is always appended to X-Forwarded-For',
  },
  'edge.dns.zoneId': 'the zone is looked up by edge.baseDomain through the Cloudflare API',
  tracing: TRACING,
  experimental: 'experimental features (plugins, fastProxy, …) are not implemented',
  hostResolver: 'host names are resolved by the system resolver',
  ocsp: 'OCSP stapling is not implemented; certificates are served without a stapled response',
  spiffe: 'SPIFFE is not implemented',
  tcpServersTransport: 'TCP servers transports take their defaults; set them per service in the dynamic configuration',
};

const REDIRECT =
  "the headers middleware does not redirect: use a redirectScheme middleware or the entrypoint's redirections";

/** A `ruleSyntax` other than v2 and v3 reads the rule as v3, as Traefik does. */
const UNKNOWN_RULE_SYNTAX: Warned = {
  when: (v) => !(RULE_SYNTAXES as readonly unknown[]).includes(v),
  instead: 'only v2 and v3 are rule syntaxes; the rule is read with the v3 syntax',
};

/** Dynamic configuration keys (files, HTTP provider, labels) without effect. */
export const WARNED_DYNAMIC: Readonly<Record<string, Warned>> = {
  'http.routers.*.ruleSyntax': UNKNOWN_RULE_SYNTAX,
  'tcp.routers.*.ruleSyntax': UNKNOWN_RULE_SYNTAX,
  'http.routers.*.observability.tracing': { when: (v) => v === true, instead: TRACING },
  'http.routers.*.observability.traceVerbosity': TRACING,
  'http.services.*.loadBalancer.strategy': 'servers are chosen by weighted round robin',
  'http.services.*.loadBalancer.healthCheck.mode': {
    when: (mode) => typeof mode === 'string' && mode.toLowerCase() !== 'http',
    instead: 'health checks are HTTP requests (gRPC health checks are not implemented)',
  },
  'http.services.*.loadBalancer.servers.preservePath': {
    when: (preserve) => preserve === false,
    instead: "the path of the server URL is always kept: it prefixes the request's path",
  },
  'http.services.*.loadBalancer.healthCheck.followRedirects': {
    when: (v) => v === true,
    instead: 'a redirect answer is judged by its own status code',
  },
  'http.services.*.loadBalancer.passiveHealthCheck': 'servers are taken out of rotation by the active healthCheck only',
  'http.services.*.loadBalancer.responseForwarding.flushInterval': 'response bodies are forwarded as they arrive',
  'http.services.*.loadBalancer.sticky.cookie.domain':
    'the sticky cookie is set without a Domain attribute (host-only)',
  'http.services.*.weighted.sticky':
    'each request picks a service by weight; there is no sticky cookie across services',
  'http.services.*.weighted.healthCheck':
    'the weighted service keeps choosing among all its services; their own health checks decide within each',
  'http.services.*.mirroring.healthCheck': "the mirroring service follows its main service's servers only",
  'http.services.*.failover.healthCheck': 'the failover service switches on its main service having healthy servers',
  'http.middlewares.*.forwardAuth.tls.caOptional': {
    when: (v) => v === true,
    instead: "the authentication server's certificate is always checked",
  },
  'http.middlewares.*.headers.sslRedirect': REDIRECT,
  'http.middlewares.*.headers.sslTemporaryRedirect': REDIRECT,
  'http.middlewares.*.headers.sslHost': REDIRECT,
  'http.middlewares.*.headers.sslForceHost': REDIRECT,
  'http.middlewares.*.headers.featurePolicy': 'no Feature-Policy header is sent; use permissionsPolicy',
  'http.middlewares.*.rateLimit.redis': 'rate limits are counted by each berth process on its own',
  'http.middlewares.*.stripPrefix.forceSlash': {
    when: (v) => v === false,
    instead: 'the stripped path always keeps a leading "/" (the key is deprecated in Traefik too)',
  },
  'http.serversTransports.*.forwardingTimeouts.readIdleTimeout': NO_H2_PING,
  'http.serversTransports.*.forwardingTimeouts.pingTimeout': NO_H2_PING,
  'http.serversTransports.*.disableHTTP2': {
    when: (v) => v === false,
    instead: 'connections to http:// and https:// servers are HTTP/1.1 (h2c:// servers get HTTP/2)',
  },
  'http.serversTransports.*.peerCertURI': 'the server certificate is checked against rootCAs and serverName only',
  'http.serversTransports.*.spiffe':
    'SPIFFE is not implemented; upstream certificates are checked against rootCAs and the system roots',
  'tcp.services.*.loadBalancer.healthCheck':
    'TCP servers are not health-checked; a server that refuses connections fails those connections',
  'tcp.services.*.weighted.healthCheck': 'the weighted service keeps choosing among all its services',
  'tcp.serversTransports.*.dialKeepAlive': "connections to servers use the system's keep-alive settings",
  'tcp.serversTransports.*.proxyProtocol':
    'no PROXY protocol header is sent by this transport; set loadBalancer.proxyProtocol on the service',
  'tcp.serversTransports.*.tls.certificates': 'no client certificate is presented to TCP servers',
  'tcp.serversTransports.*.tls.peerCertURI': 'the server certificate is checked against rootCAs and serverName only',
  'tcp.serversTransports.*.tls.spiffe':
    'SPIFFE is not implemented; the server certificate is checked against rootCAs and serverName',
  'tls.options.*.disableSessionTickets': { when: (v) => v === true, instead: 'TLS session tickets stay enabled' },
  'tls.options.*.preferServerCipherSuites': {
    when: (v) => v === false,
    instead: "the server's cipher suite order is always preferred (as Go, and so Traefik, does since TLS 1.3)",
  },
};

/** The decoders' view of a table: a warning for each key (or value) listed. */
export function warningsFrom(table: Readonly<Record<string, Warned>>): Warnings {
  if (Object.keys(table).length === 0) return NO_WARNINGS;
  const name = (spath: string): string => spath.slice(spath.lastIndexOf('.') + 1);
  return {
    key(spath, value) {
      const w = table[spath];
      if (typeof w !== 'string' || value === null || value === undefined) return undefined;
      return `${name(spath)} has no effect in berth: ${w}`;
    },
    value(spath, value) {
      const w = table[spath];
      if (w === undefined || typeof w === 'string' || !w.when(value)) return undefined;
      return `${name(spath)} is ${JSON.stringify(value)}, which berth does not do: ${w.instead}`;
    },
  };
}

/** Warnings of the static configuration. */
export const STATIC_WARNINGS: Warnings = warningsFrom(WARNED_STATIC);
/** Warnings of the dynamic configuration. */
export const DYNAMIC_WARNINGS: Warnings = warningsFrom(WARNED_DYNAMIC);
