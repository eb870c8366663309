/**
 * The static configuration (`berth.yaml`): Traefik v3's static keys with the same names and meaning,
 * plus berth's own (`edge`, `providers.docker.endpoints`, `api.listen`, `workers`, `limits`).
 * This is the decoded, defaulted form the rest of berth reads: `decodeStaticConfig` fills every
 * default named here, so a field documented with a default is always present after decoding.
 *
 * Durations are kept as Go duration strings (`60s`, `1m30s`); a bare number of seconds in the input
 * comes out as `"<n>s"`. Read them with `parseDuration` from `src/lib/duration.ts`.
 */

export interface StaticConfig {
  /** User-written and generated (`edge`) entrypoints by name. */
  entryPoints: Record<string, EntryPointConfig>;
  providers: ProvidersConfig;
  certificatesResolvers: Record<string, CertResolverConfig>;
  /** Always present: berth's API listens on `api.listen` even when the file has no `api` section. */
  api: ApiConfig;
  /** Present when enabled (`ping: {}`). Defaults: entryPoint `traefik`, terminatingStatusCode 503. */
  ping?: { entryPoint?: string; manualRouting?: boolean; terminatingStatusCode?: number };
  log: LogConfig;
  /** Present when enabled (`accessLog: {}`). */
  accessLog?: AccessLogConfig;
  metrics?: { prometheus?: PrometheusConfig; addInternals?: boolean };
  serversTransport: StaticServersTransport;
  edge: EdgeConfig;
  /** Number of worker processes for the data plane: 'auto' = one per core. Default 'auto'. */
  workers: number | 'auto';
  global?: { checkNewVersion?: boolean; sendAnonymousUsage?: boolean; notAppendXForwardedFor?: boolean };
  /** berth: bounds that protect the process from hostile clients (HARDENING.md). */
  limits: LimitsConfig;
  /** berth: several hosts sharing certificates, leases and challenge answers through Redis (SPEC §13). */
  fleet?: FleetConfig;
}

/** `fleet`: present when several berth hosts form one edge. */
export interface FleetConfig {
  /** `redis://[:password@]host:port/db` or `rediss://…`; the master's address without Sentinel. */
  redis?: string;
  /** Redis Sentinel addresses (`host:port`); with `masterName`. */
  sentinels?: string[];
  masterName?: string;
  /** This host's name in the fleet. Default: the host name. */
  node?: string;
  /** 32-byte key (raw, hex or base64) that encrypts private keys stored in Redis (AES-256-GCM). */
  encryptionKeyFile?: string;
  /** How long an order lease lasts without renewal. Default 30s. */
  leaseDuration: string;
  /** How often a host reconciles with Redis without waiting for a notification. Default 30s. */
  syncInterval: string;
}

export interface EntryPointConfig {
  /** `:80`, `127.0.0.1:8080`, `[::]:443`, `:53/udp` — as written. */
  address: string;
  /** Parsed from `address`, without brackets. '' for all interfaces (`:80`); `::` for `[::]:443`. */
  host: string;
  /** 0 asks the OS for a free port (useful in tests). */
  port: number;
  protocol: 'tcp' | 'udp';
  asDefault?: boolean;
  http?: EntryPointHttp;
  forwardedHeaders?: { trustedIPs?: string[]; insecure?: boolean; connection?: string[]; notAppendXForwardedFor?: boolean };
  proxyProtocol?: { trustedIPs?: string[]; insecure?: boolean };
  /** Always present. Defaults as Traefik: readTimeout 60s, writeTimeout 0s, idleTimeout 180s, graceTimeOut 10s. */
  transport?: {
    respondingTimeouts?: { readTimeout?: string; writeTimeout?: string; idleTimeout?: string };
    lifeCycle?: { requestAcceptGraceTimeout?: string; graceTimeOut?: string };
    keepAliveMaxRequests?: number;
    keepAliveMaxTime?: string;
  };
  /** Unset means `limits.http2MaxConcurrentStreams`. */
  http2?: { maxConcurrentStreams?: number; maxDecoderHeaderTableSize?: number; maxEncoderHeaderTableSize?: number };
  /** Always present. Default timeout 3s (idle UDP session). */
  udp?: { timeout?: string };
  /** SO_REUSEPORT, as Traefik's `reusePort`. */
  reusePort?: boolean;
  /** Let custom routers handle ACME challenges on this entrypoint. */
  allowACMEByPass?: boolean;
  observability?: { accessLogs?: boolean; metrics?: boolean; tracing?: boolean; traceVerbosity?: string };
  /** berth: generated from `edge` (true) or written by the user (false/absent). */
  generated?: boolean;
}

export interface EntryPointHttp {
  /** `to` is an entrypoint name, or a port such as `:443`. Defaults: scheme https, permanent true. */
  redirections?: { entryPoint?: { to: string; scheme?: string; permanent?: boolean; priority?: number } };
  middlewares?: string[];
  tls?: { options?: string; certResolver?: string; domains?: { main: string; sans?: string[] }[] };
  /** Default true, as Traefik. */
  sanitizePath?: boolean;
  /** Traefik v3.6 keys (`allowEncodedSlash`, `allowEncodedBackSlash`, …) → allowed. */
  encodedCharacters?: Record<string, boolean>;
  encodeQuerySemicolons?: boolean;
  /** Unset means `limits.maxHeaderBytes`. */
  maxHeaderBytes?: number;
}

export interface ProvidersConfig {
  /** Default 2s, as Traefik. */
  providersThrottleDuration?: string;
  docker?: DockerProviderConfig;
  file?: FileProviderConfig;
  http?: HttpProviderConfig;
}

export interface DockerProviderConfig {
  /** Traefik's single endpoint, as written. */
  endpoint?: string;
  /**
   * berth: the effective list of endpoints, each `unix://…`, `tcp://…` (or http(s)://) or a glob of unix
   * sockets: `endpoint` (when given) followed by the `endpoints` of the file, without duplicates;
   * `[unix:///var/run/docker.sock]` when neither is given. Always present after decoding.
   */
  endpoints?: string[];
  tls?: { ca?: string; caOptional?: boolean; cert?: string; key?: string; insecureSkipVerify?: boolean };
  username?: string;
  password?: string;
  /** Default true, as Traefik. */
  exposedByDefault: boolean;
  network?: string;
  /** Default ``Host(`{{ normalize .Name }}`)``. */
  defaultRule: string;
  constraints?: string;
  useBindPortIP?: boolean;
  allowEmptyServices?: boolean;
  /** Default true. */
  watch?: boolean;
  httpClientTimeout?: string;
  /** How often globs are re-scanned for new daemons (ms). From `rescanInterval` (default 5s). */
  rescanIntervalMs?: number;
}

export interface FileProviderConfig {
  filename?: string;
  /** Takes precedence over `filename` when both are given, as in Traefik. */
  directory?: string;
  /** Default true. */
  watch: boolean;
  debugLogGeneratedTemplate?: boolean;
}

export interface HttpProviderConfig {
  endpoint: string;
  /** Default 5s. */
  pollInterval: string;
  /** Default 5s. */
  pollTimeout: string;
  headers?: Record<string, string>;
  tls?: { ca?: string; caOptional?: boolean; cert?: string; key?: string; insecureSkipVerify?: boolean };
}

export interface CertResolverConfig {
  acme: {
    email?: string;
    /** Default `acme.json` (relative to the working directory, as Traefik). */
    storage: string;
    /** Default Let's Encrypt production. */
    caServer?: string;
    /** Hours; default 2160 (90 days). */
    certificatesDuration?: number;
    /** EC256, EC384, RSA2048, RSA4096 (default), RSA8192. */
    keyType?: string;
    /** PEM files trusted for the CA's own HTTPS endpoint. */
    caCertificates?: string[];
    caSystemCertPool?: boolean;
    caServerName?: string;
    preferredChain?: string;
    profile?: string;
    emailAddresses?: string[];
    disableCommonName?: boolean;
    certificateTimeout?: string;
    clientTimeout?: string;
    clientResponseHeaderTimeout?: string;
    eab?: { kid: string; hmacEncoded: string };
    dnsChallenge?: {
      provider: string;
      resolvers?: string[];
      propagation?: { delayBeforeChecks?: string; disableChecks?: boolean; requireAllRNS?: boolean; disableANSChecks?: boolean };
      /** Deprecated by Traefik in favour of `propagation.delayBeforeChecks`. */
      delayBeforeCheck?: string;
      /** Deprecated by Traefik in favour of `propagation.disableChecks`. */
      disablePropagationCheck?: boolean;
    };
    httpChallenge?: { entryPoint: string; delay?: string };
    tlsChallenge?: { delay?: string };
  };
}

export interface ApiConfig {
  /** berth: where the API listens (default `127.0.0.1:7111`). */
  listen: string;
  /** Default true. */
  dashboard: boolean;
  insecure?: boolean;
  debug?: boolean;
  /** Default `/`. */
  basePath?: string;
  dashboardName?: string;
  disableDashboardAd?: boolean;
}

export interface LogConfig {
  /** pino level names: trace, debug, info, warn, error (default, as Traefik), fatal. Traefik's upper-case names and PANIC are accepted. */
  level: string;
  /** json | common. */
  format?: string;
  filePath?: string;
  noColor?: boolean;
}

export interface AccessLogConfig {
  filePath?: string;
  /** Default `common`, as Traefik. */
  format?: 'json' | 'common' | 'genericCLF';
  bufferingSize?: number;
  filters?: { statusCodes?: string[]; retryAttempts?: boolean; minDuration?: string };
  fields?: { defaultMode?: string; names?: Record<string, string>; headers?: { defaultMode?: string; names?: Record<string, string> } };
  addInternals?: boolean;
}

export interface PrometheusConfig {
  /** Default `traefik`. */
  entryPoint?: string;
  /** berth: prefix of metric names (default `traefik`, so dashboards built for Traefik keep working). */
  prefix?: string;
  addEntryPointsLabels?: boolean;
  addRoutersLabels?: boolean;
  addServicesLabels?: boolean;
  /** Seconds; default [0.1, 0.3, 1.2, 5]. */
  buckets?: number[];
  manualRouting?: boolean;
  headerLabels?: Record<string, string>;
}

export interface StaticServersTransport {
  insecureSkipVerify?: boolean;
  rootCAs?: string[];
  /** Default 200. */
  maxIdleConnsPerHost?: number;
  /** Defaults: dialTimeout 30s, responseHeaderTimeout 0s (none), idleConnTimeout 90s. */
  forwardingTimeouts?: { dialTimeout?: string; responseHeaderTimeout?: string; idleConnTimeout?: string; readIdleTimeout?: string; pingTimeout?: string };
}

export interface EdgeConfig {
  /** This host's name inside `baseDomain`: routes become `{service}.{repo}.{machineName}.{baseDomain}`. */
  machineName?: string;
  baseDomain?: string;
  /** When set, IPv4 entrypoints are generated on this address. */
  publicIPv4?: string;
  /** When set, IPv6 entrypoints (`-v6` suffix) are generated on this address (without brackets). */
  publicIPv6?: string;
  /** Auto-routes from rediacc labels. Default true. */
  autoRoutes: boolean;
  /** Resolver used for auto-routes; must name a `certificatesResolvers` entry. */
  certResolver?: string;
  /** Automatic DNS records (§7). The API token comes from CF_DNS_API_TOKEN / CF_DNS_API_TOKEN_FILE, never the file. */
  dns?: { provider: 'cloudflare'; zoneId?: string; proxied?: boolean; ttl?: number };
  /** Extra TCP entrypoints (`tcp-{port}`). */
  tcpPorts: number[];
  /** Extra UDP entrypoints (`udp-{port}`). */
  udpPorts: number[];
  /** Inclusive range, e.g. `10000-10010` (the default). */
  dynamicPorts: { from: number; to: number };
  /** Default `/var/lib/berth`: port allocations and other state that must survive restarts. */
  stateDir: string;
  /** Port of the generated `web` entrypoints. Default 80 (tests use unprivileged ports). */
  webPort: number;
  /** Port of the generated `websecure` entrypoints. Default 443. */
  websecurePort: number;
}

/**
 * berth: resource bounds against hostile or broken clients. Each has a safe default; raise them only
 * with a reason.
 */
export interface LimitsConfig {
  /** Request line + headers, bytes (Node's `maxHeaderSize`); above → 431. Default 32768. */
  maxHeaderBytes: number;
  /** Header lines per request; above → 431 (never a truncated request forwarded). Default 200. */
  maxHeaderCount: number;
  /** Time for a client to send complete request headers (slowloris). Default 30s. */
  headersTimeout: string;
  /** Time for a TLS handshake to complete. Default 10s (Node's own is 120s). */
  handshakeTimeout: string;
  /** Time to receive a complete ClientHello on SNI-routed TCP entrypoints. Default 10s. */
  clientHelloTimeout: string;
  /** Largest ClientHello buffered for SNI routing, bytes; larger → connection closed. Default 65536. */
  maxClientHelloBytes: number;
  /** HTTP/2 streams per connection when the entrypoint sets none. Default 100. */
  http2MaxConcurrentStreams: number;
  /** Open connections per entrypoint (per worker); 0 = unlimited (the default). */
  maxConnectionsPerEntrypoint: number;
  /** Concurrent UDP sessions per entrypoint; the least recently used is evicted beyond. Default 4096. */
  udpMaxSessions: number;
}
