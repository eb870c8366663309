/**
 * Traefik v3 dynamic configuration, as plain readonly data. Providers produce it, the pipeline merges
 * and compiles it; nothing here has behaviour. Field names are Traefik's canonical camelCase (the
 * file provider's spelling); decoders of case-insensitive sources (labels) normalise to these.
 */

export interface DynamicConfig {
  http?: HttpConfiguration;
  tcp?: TcpConfiguration;
  udp?: UdpConfiguration;
  tls?: TlsConfiguration;
}

// ---------------------------------------------------------------- HTTP

export interface HttpConfiguration {
  routers?: Record<string, HttpRouter>;
  services?: Record<string, HttpService>;
  middlewares?: Record<string, Middleware>;
  serversTransports?: Record<string, ServersTransport>;
}

export interface HttpRouter {
  entryPoints?: string[];
  rule: string;
  ruleSyntax?: string;
  /** Higher wins; default is the rule's length. */
  priority?: number;
  middlewares?: string[];
  service: string;
  tls?: RouterTlsConfig;
  observability?: { accessLogs?: boolean; metrics?: boolean; tracing?: boolean };
}

export interface RouterTlsConfig {
  options?: string;
  certResolver?: string;
  domains?: TlsDomain[];
}

export interface TlsDomain {
  main: string;
  sans?: string[];
}

export interface HttpService {
  loadBalancer?: ServersLoadBalancer;
  weighted?: WeightedRoundRobin;
  mirroring?: Mirroring;
  failover?: Failover;
}

export interface ServersLoadBalancer {
  servers?: HttpServer[];
  sticky?: { cookie?: StickyCookie };
  healthCheck?: ServerHealthCheck;
  passHostHeader?: boolean;
  responseForwarding?: { flushInterval?: string };
  serversTransport?: string;
  strategy?: string;
}

export interface HttpServer {
  url: string;
  weight?: number;
  preservePath?: boolean;
}

export interface StickyCookie {
  name?: string;
  secure?: boolean;
  httpOnly?: boolean;
  sameSite?: string;
  maxAge?: number;
  path?: string;
}

export interface ServerHealthCheck {
  scheme?: string;
  mode?: string;
  path?: string;
  method?: string;
  status?: number;
  port?: number;
  interval?: string;
  unhealthyInterval?: string;
  timeout?: string;
  hostname?: string;
  followRedirects?: boolean;
  headers?: Record<string, string>;
}

export interface WeightedRoundRobin {
  services?: { name: string; weight?: number }[];
  sticky?: { cookie?: StickyCookie };
  healthCheck?: Record<string, never>;
}

export interface Mirroring {
  service: string;
  /** Whether mirrors get the request body (default true). */
  mirrorBody?: boolean;
  /** Largest body copied to the mirrors; a larger request is not mirrored. Default -1: no limit. */
  maxBodySize?: number;
  mirrors?: { name: string; percent?: number }[];
  healthCheck?: Record<string, never>;
}

export interface Failover {
  service: string;
  fallback: string;
  healthCheck?: Record<string, never>;
}

/**
 * A middleware: exactly one key, the Traefik type name (`headers`, `buffering`, `basicAuth`, …),
 * whose value holds that type's options.
 */
export type Middleware = Readonly<Record<string, Record<string, unknown>>>;

export interface ServersTransport {
  serverName?: string;
  insecureSkipVerify?: boolean;
  rootCAs?: string[];
  certificates?: { certFile: string; keyFile: string }[];
  maxIdleConnsPerHost?: number;
  forwardingTimeouts?: { dialTimeout?: string; responseHeaderTimeout?: string; idleConnTimeout?: string; readIdleTimeout?: string; pingTimeout?: string };
  disableHTTP2?: boolean;
  peerCertURI?: string;
}

// ---------------------------------------------------------------- TCP

export interface TcpConfiguration {
  routers?: Record<string, TcpRouter>;
  services?: Record<string, TcpService>;
  middlewares?: Record<string, Middleware>;
  serversTransports?: Record<string, TcpServersTransport>;
}

export interface TcpRouter {
  entryPoints?: string[];
  rule: string;
  ruleSyntax?: string;
  priority?: number;
  middlewares?: string[];
  service: string;
  tls?: TcpRouterTlsConfig;
}

export interface TcpRouterTlsConfig {
  passthrough?: boolean;
  options?: string;
  certResolver?: string;
  domains?: TlsDomain[];
}

export interface TcpService {
  loadBalancer?: TcpServersLoadBalancer;
  weighted?: { services?: { name: string; weight?: number }[] };
}

export interface TcpServersLoadBalancer {
  servers?: TcpServer[];
  proxyProtocol?: { version?: number };
  serversTransport?: string;
  terminationDelay?: number;
}

export interface TcpServer {
  address: string;
  tls?: boolean;
  weight?: number;
}

export interface TcpServersTransport {
  dialTimeout?: string;
  dialKeepAlive?: string;
  terminationDelay?: string;
  tls?: { serverName?: string; insecureSkipVerify?: boolean; rootCAs?: string[] };
}

// ---------------------------------------------------------------- UDP

export interface UdpConfiguration {
  routers?: Record<string, UdpRouter>;
  services?: Record<string, UdpService>;
}

export interface UdpRouter {
  entryPoints?: string[];
  service: string;
}

export interface UdpService {
  loadBalancer?: { servers?: { address: string; weight?: number }[] };
  weighted?: { services?: { name: string; weight?: number }[] };
}

// ---------------------------------------------------------------- TLS

export interface TlsConfiguration {
  certificates?: CertAndStores[];
  options?: Record<string, TlsOptions>;
  stores?: Record<string, TlsStore>;
}

export interface CertAndStores {
  /** A path or the PEM itself, as in Traefik. */
  certFile: string;
  keyFile: string;
  stores?: string[];
}

export interface TlsOptions {
  minVersion?: string;
  maxVersion?: string;
  cipherSuites?: string[];
  curvePreferences?: string[];
  clientAuth?: { caFiles?: string[]; clientAuthType?: string };
  sniStrict?: boolean;
  alpnProtocols?: string[];
  preferServerCipherSuites?: boolean;
}

export interface TlsStore {
  defaultCertificate?: { certFile: string; keyFile: string };
  defaultGeneratedCert?: { resolver: string; domain?: TlsDomain };
}
