/**
 * The static configuration (`berth.yaml`): Traefik v3's static keys with the same names and meaning,
 * plus berth's own (`edge`, `providers.docker.endpoints`, `api.listen`, `workers`, `limits`).
 * This is the decoded, defaulted form the rest of berth reads.
 */

export interface StaticConfig {
  entryPoints: Record<string, EntryPointConfig>;
  providers: ProvidersConfig;
  certificatesResolvers: Record<string, CertResolverConfig>;
  api: ApiConfig;
  ping?: { entryPoint?: string; manualRouting?: boolean; terminatingStatusCode?: number };
  log: LogConfig;
  accessLog?: AccessLogConfig;
  metrics?: { prometheus?: PrometheusConfig };
  serversTransport: StaticServersTransport;
  edge: EdgeConfig;
  /** Number of worker processes for the data plane: 'auto' = one per core. */
  workers: number | 'auto';
  global?: { checkNewVersion?: boolean; sendAnonymousUsage?: boolean };
}

export interface EntryPointConfig {
  /** `:80`, `127.0.0.1:8080`, `[::]:443`, `:53/udp`. */
  address: string;
  /** Parsed from `address`. `host` is '' for all interfaces. */
  host: string;
  port: number;
  protocol: 'tcp' | 'udp';
  asDefault?: boolean;
  http?: EntryPointHttp;
  forwardedHeaders?: { trustedIPs?: string[]; insecure?: boolean };
  proxyProtocol?: { trustedIPs?: string[]; insecure?: boolean };
  transport?: {
    respondingTimeouts?: { readTimeout?: string; writeTimeout?: string; idleTimeout?: string };
    lifeCycle?: { requestAcceptGraceTimeout?: string; graceTimeOut?: string };
    keepAliveMaxRequests?: number;
    keepAliveMaxTime?: string;
  };
  http2?: { maxConcurrentStreams?: number };
  udp?: { timeout?: string };
  /** berth: generated from `edge` (true) or written by the user (false/absent). */
  generated?: boolean;
}

export interface EntryPointHttp {
  redirections?: { entryPoint?: { to: string; scheme?: string; permanent?: boolean; priority?: number } };
  middlewares?: string[];
  tls?: { options?: string; certResolver?: string; domains?: { main: string; sans?: string[] }[] };
  sanitizePath?: boolean;
  encodedCharacters?: Record<string, boolean>;
  encodeQuerySemicolons?: boolean;
  maxHeaderBytes?: number;
}

export interface ProvidersConfig {
  providersThrottleDuration?: string;
  docker?: DockerProviderConfig;
  file?: FileProviderConfig;
  http?: HttpProviderConfig;
}

export interface DockerProviderConfig {
  /** Traefik's single endpoint. */
  endpoint?: string;
  /** berth: many endpoints, each `unix://…`, `tcp://…` or a glob of unix sockets. */
  endpoints?: string[];
  tls?: { ca?: string; cert?: string; key?: string; insecureSkipVerify?: boolean };
  exposedByDefault: boolean;
  network?: string;
  defaultRule: string;
  constraints?: string;
  useBindPortIP?: boolean;
  allowEmptyServices?: boolean;
  watch?: boolean;
  httpClientTimeout?: string;
  /** How often globs are re-scanned for new daemons (ms). */
  rescanIntervalMs?: number;
}

export interface FileProviderConfig {
  filename?: string;
  directory?: string;
  watch: boolean;
}

export interface HttpProviderConfig {
  endpoint: string;
  pollInterval: string;
  pollTimeout: string;
  headers?: Record<string, string>;
  tls?: { ca?: string; cert?: string; key?: string; insecureSkipVerify?: boolean };
}

export interface CertResolverConfig {
  acme: {
    email?: string;
    storage: string;
    caServer?: string;
    certificatesDuration?: number;
    keyType?: string;
    caCertificates?: string[];
    eab?: { kid: string; hmacEncoded: string };
    dnsChallenge?: { provider: string; resolvers?: string[]; propagation?: { delayBeforeChecks?: string; disableChecks?: boolean; requireAllRNS?: boolean; disableANSChecks?: boolean }; delayBeforeCheck?: string; disablePropagationCheck?: boolean };
    httpChallenge?: { entryPoint: string };
    tlsChallenge?: Record<string, never>;
  };
}

export interface ApiConfig {
  /** berth: where the API listens (default `127.0.0.1:7111`). */
  listen: string;
  dashboard: boolean;
  insecure?: boolean;
  debug?: boolean;
  basePath?: string;
}

export interface LogConfig {
  level: string;
  format?: string;
  filePath?: string;
  noColor?: boolean;
}

export interface AccessLogConfig {
  filePath?: string;
  format?: 'json' | 'common' | 'genericCLF';
  bufferingSize?: number;
  filters?: { statusCodes?: string[]; retryAttempts?: boolean; minDuration?: string };
  fields?: { defaultMode?: string; names?: Record<string, string>; headers?: { defaultMode?: string; names?: Record<string, string> } };
}

export interface PrometheusConfig {
  entryPoint?: string;
  prefix?: string;
  addEntryPointsLabels?: boolean;
  addRoutersLabels?: boolean;
  addServicesLabels?: boolean;
  buckets?: number[];
  manualRouting?: boolean;
}

export interface StaticServersTransport {
  insecureSkipVerify?: boolean;
  rootCAs?: string[];
  maxIdleConnsPerHost?: number;
  forwardingTimeouts?: { dialTimeout?: string; responseHeaderTimeout?: string; idleConnTimeout?: string };
}

export interface EdgeConfig {
  machineName?: string;
  baseDomain?: string;
  publicIPv4?: string;
  publicIPv6?: string;
  autoRoutes: boolean;
  certResolver?: string;
  dns?: { provider: 'cloudflare'; zoneId?: string; proxied?: boolean; ttl?: number };
  tcpPorts: number[];
  udpPorts: number[];
  /** Inclusive range, e.g. `10000-10010`. */
  dynamicPorts: { from: number; to: number };
  stateDir: string;
}
