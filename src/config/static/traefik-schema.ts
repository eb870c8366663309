/**
 * The Traefik v3 sections of `berth.yaml`, declared once: names, types and Traefik's defaults.
 * Sections berth does not implement (tracing, other providers, …) are accepted with a warning so a
 * Traefik `traefik.yml` still starts berth.
 */
import { buildIpMatcher } from '../../lib/ip.ts';
import { bool, dur, ignored, int, list, map, num, obj, oneOf, str, toggle, type Schema } from './schema.ts';

const ipRange = (v: string): string | undefined =>
  buildIpMatcher([v]).invalid.length > 0 ? `"${v}" is not an IP address or CIDR range` : undefined;

const httpUrl = (v: string): string | undefined => (/^https?:\/\/[^\s/]+/i.test(v) ? undefined : `"${v}" is not an http:// or https:// URL`);

/** Docker endpoints: unix sockets (globs allowed, berth), tcp/http(s) daemons (no globs). */
export function checkDockerEndpoint(v: string): string | undefined {
  const m = /^([a-z]+):\/\/(.+)$/i.exec(v);
  const scheme = m?.[1]?.toLowerCase();
  if (!m || !['unix', 'tcp', 'http', 'https'].includes(scheme!)) {
    return `"${v}" is not a Docker endpoint (expected unix:///path/docker.sock, tcp://host:port or a glob of unix sockets)`;
  }
  if (scheme !== 'unix' && /[*?[]/.test(m[2]!)) return `globs are only supported for unix:// sockets, got "${v}"`;
  if (scheme === 'unix' && !m[2]!.startsWith('/')) return `unix socket path must be absolute, got "${v}"`;
  return undefined;
}

const tlsClient = obj({ ca: str(), caOptional: bool(), cert: str(), key: str(), insecureSkipVerify: bool() });
const domains = list(obj({ main: str({ required: true }), sans: list(str()) }));

/** One entrypoint, as written by the user or generated from `edge`. */
export const entryPointSchema: Schema = obj({
  address: str({ required: true }),
  asDefault: bool(),
  allowACMEByPass: bool(),
  reusePort: bool(),
  http: obj({
    redirections: obj({
      entryPoint: obj({ to: str({ required: true }), scheme: str({ default: 'https' }), permanent: bool(true), priority: int({ min: 1 }) }),
    }),
    middlewares: list(str()),
    tls: toggle({ options: str(), certResolver: str(), domains }),
    sanitizePath: bool(true),
    encodedCharacters: obj({
      allowEncodedSlash: bool(), allowEncodedBackSlash: bool(), allowEncodedNullCharacter: bool(), allowEncodedSemicolon: bool(),
      allowEncodedPercent: bool(), allowEncodedQuestionMark: bool(), allowEncodedHash: bool(),
    }),
    encodeQuerySemicolons: bool(),
    maxHeaderBytes: int({ min: 1 }),
  }, { default: {} }),
  http2: obj({ maxConcurrentStreams: int({ min: 1 }), maxDecoderHeaderTableSize: int({ min: 0 }), maxEncoderHeaderTableSize: int({ min: 0 }) }),
  http3: ignored('HTTP/3 is not implemented'),
  forwardedHeaders: obj({ trustedIPs: list(str({ check: ipRange })), insecure: bool(), connection: list(str()), notAppendXForwardedFor: bool() }),
  proxyProtocol: obj({ trustedIPs: list(str({ check: ipRange })), insecure: bool() }),
  transport: obj({
    respondingTimeouts: obj({ readTimeout: dur('60s'), writeTimeout: dur('0s'), idleTimeout: dur('180s') }, { default: {} }),
    lifeCycle: obj({ requestAcceptGraceTimeout: dur('0s'), graceTimeOut: dur('10s') }, { default: {} }),
    keepAliveMaxRequests: int({ min: 0 }),
    keepAliveMaxTime: dur(),
  }, { default: {} }),
  udp: obj({ timeout: dur('3s') }, { default: {} }),
  observability: obj({ accessLogs: bool(), metrics: bool(), tracing: bool(), traceVerbosity: oneOf(['minimal', 'detailed']) }),
});

const unsupportedProvider = ignored('berth reads docker, file and http providers');

/** `providers`: docker (with berth's `endpoints`), file, http. */
export const providersSchema: Schema = obj({
  providersThrottleDuration: dur('2s'),
  docker: toggle({
    endpoint: str({ check: checkDockerEndpoint }),
    endpoints: list(str({ check: checkDockerEndpoint })),
    tls: tlsClient,
    username: str(),
    password: str(),
    exposedByDefault: bool(true),
    network: str(),
    defaultRule: str({ default: 'Host(`{{ normalize .Name }}`)' }),
    constraints: str(),
    useBindPortIP: bool(false),
    allowEmptyServices: bool(false),
    watch: bool(true),
    httpClientTimeout: dur(),
    rescanInterval: dur('5s'),
  }),
  file: obj({ filename: str(), directory: str(), watch: bool(true), debugLogGeneratedTemplate: bool() }),
  http: obj({
    endpoint: str({ required: true, check: httpUrl }),
    pollInterval: dur('5s'),
    pollTimeout: dur('5s'),
    headers: map(str({ fromNumber: true })),
    tls: tlsClient,
  }),
  swarm: unsupportedProvider, kubernetesCRD: unsupportedProvider, kubernetesIngress: unsupportedProvider,
  kubernetesGateway: unsupportedProvider, kubernetesIngressNginx: unsupportedProvider, knative: unsupportedProvider,
  consul: unsupportedProvider, consulCatalog: unsupportedProvider, nomad: unsupportedProvider, ecs: unsupportedProvider,
  etcd: unsupportedProvider, redis: unsupportedProvider, zooKeeper: unsupportedProvider, rest: unsupportedProvider,
  plugin: unsupportedProvider,
}, { default: {} });

/** lego names of the DNS-01 providers berth implements (src/dns/providers.ts loads them). */
const DNS_PROVIDERS = ['cloudflare', 'rfc2136', 'exec', 'httpreq', 'acme-dns', 'acmedns'];
const knownDnsProvider = (v: string): string | undefined =>
  DNS_PROVIDERS.includes(v.toLowerCase()) ? undefined : `unsupported DNS provider "${v}": berth implements ${DNS_PROVIDERS.slice(0, -1).join(', ')}`;

/** `certificatesResolvers.<name>`. */
export const certResolverSchema: Schema = obj({
  acme: obj({
    email: str(),
    storage: str({ default: 'acme.json' }),
    caServer: str({ default: 'https://acme-v02.api.letsencrypt.org/directory', check: httpUrl }),
    certificatesDuration: int({ min: 1, default: 2160 }),
    keyType: oneOf(['EC256', 'EC384', 'RSA2048', 'RSA4096', 'RSA8192'], { default: 'RSA4096' }),
    caCertificates: list(str()),
    caSystemCertPool: bool(),
    caServerName: str(),
    preferredChain: str(),
    profile: str(),
    emailAddresses: list(str()),
    disableCommonName: bool(),
    certificateTimeout: dur(),
    clientTimeout: dur(),
    clientResponseHeaderTimeout: dur(),
    eab: obj({ kid: str({ required: true }), hmacEncoded: str({ required: true }) }),
    dnsChallenge: obj({
      provider: str({ required: true, check: knownDnsProvider }),
      resolvers: list(str()),
      propagation: obj({ delayBeforeChecks: dur(), disableChecks: bool(), requireAllRNS: bool(), disableANSChecks: bool() }),
      delayBeforeCheck: dur(undefined, { deprecated: 'use propagation.delayBeforeChecks' }),
      disablePropagationCheck: bool(undefined, { deprecated: 'use propagation.disableChecks' }),
    }),
    httpChallenge: obj({ entryPoint: str({ required: true }), delay: dur() }),
    tlsChallenge: toggle({ delay: dur() }),
  }, { required: true }),
  tailscale: ignored('only ACME resolvers are implemented'),
});

/** `api`: berth's API always listens on `listen`; the section only tunes it. */
export const apiSchema: Schema = toggle({
  listen: str({ default: '127.0.0.1:7111' }),
  dashboard: bool(true),
  insecure: bool(false),
  debug: bool(false),
  basePath: str({ default: '/' }),
  dashboardName: str(),
  disableDashboardAd: bool(),
}, { default: {} });

const statusRange = (v: string): string | undefined =>
  /^\d{3}(-\d{3})?$/.test(v.trim()) ? undefined : `"${v}" is not a status code or range such as 500-599`;
const fieldMode = oneOf(['keep', 'drop', 'redact']);

const ROTATION = 'berth does not rotate its log file: rotate it with logrotate, then send SIGUSR1';

/** `log`, `accessLog`, `metrics`, `ping`. */
export const observabilitySchemas = {
  log: obj({
    level: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal'], { default: 'error', aliases: { warning: 'warn', panic: 'fatal' } }),
    format: oneOf(['json', 'common']),
    filePath: str(),
    noColor: bool(),
    // Traefik rotates its own log by size; berth leaves rotation to logrotate (SIGUSR1 reopens).
    maxSize: ignored(ROTATION),
    maxBackups: ignored(ROTATION),
    maxAge: ignored(ROTATION),
    compress: ignored(ROTATION),
    otlp: ignored('OpenTelemetry export is not implemented'),
  }, { default: {} }),
  accessLog: toggle({
    filePath: str(),
    format: oneOf(['json', 'common', 'genericCLF'], { default: 'common' }),
    bufferingSize: int({ min: 0 }),
    filters: obj({ statusCodes: list(str({ fromNumber: true, check: statusRange })), retryAttempts: bool(), minDuration: dur() }),
    fields: obj({ defaultMode: fieldMode, names: map(fieldMode), headers: obj({ defaultMode: fieldMode, names: map(fieldMode) }) }),
    addInternals: bool(),
    dualOutput: ignored(),
    otlp: ignored('OpenTelemetry export is not implemented'),
  }),
  metrics: obj({
    addInternals: bool(),
    prometheus: toggle({
      buckets: list(num({ min: 0 }), { default: [0.1, 0.3, 1.2, 5] }),
      addEntryPointsLabels: bool(true),
      addRoutersLabels: bool(false),
      addServicesLabels: bool(true),
      entryPoint: str({ default: 'traefik' }),
      manualRouting: bool(false),
      headerLabels: map(str()),
      prefix: str({ default: 'traefik' }),
    }),
    datadog: ignored('only Prometheus metrics are implemented'),
    statsD: ignored('only Prometheus metrics are implemented'),
    influxDB2: ignored('only Prometheus metrics are implemented'),
    otlp: ignored('only Prometheus metrics are implemented'),
  }),
  ping: toggle({ entryPoint: str({ default: 'traefik' }), manualRouting: bool(false), terminatingStatusCode: int({ min: 100, max: 599, default: 503 }) }),
};

/** `serversTransport` and `global`. */
export const transportSchemas = {
  serversTransport: obj({
    insecureSkipVerify: bool(false),
    rootCAs: list(str()),
    maxIdleConnsPerHost: int({ default: 200 }),
    forwardingTimeouts: obj({
      dialTimeout: dur('30s'), responseHeaderTimeout: dur('0s'), idleConnTimeout: dur('90s'), readIdleTimeout: dur(), pingTimeout: dur(),
    }, { default: {} }),
    spiffe: ignored(),
  }, { default: {} }),
  global: obj({ checkNewVersion: bool(), sendAnonymousUsage: bool(), notAppendXForwardedFor: bool() }),
};

/** Top-level Traefik sections berth accepts and ignores. */
export const ignoredSections: Readonly<Record<string, Schema>> = {
  tracing: ignored('tracing is not implemented'),
  experimental: ignored(),
  hostResolver: ignored(),
  core: ignored('berth always uses the v3 rule syntax'),
  ocsp: ignored(),
  spiffe: ignored(),
  tcpServersTransport: ignored(),
};
