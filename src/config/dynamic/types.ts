/**
 * Traefik v3.7's dynamic configuration as plain data, inferred from the one declaration in
 * `schema.ts`: providers produce it, the pipeline merges and compiles it; nothing here has behaviour.
 * Field names are Traefik's canonical camelCase; decoders of case-insensitive sources normalise to them.
 */
import type { InferOutput } from 'valibot';
import type { dynamicConfigSchema } from './schema.ts';

/** The whole dynamic configuration. */
export type DynamicConfig = InferOutput<typeof dynamicConfigSchema>;

/** `http`: routers, services, middlewares, servers transports. */
export type HttpConfiguration = NonNullable<DynamicConfig['http']>;
/** `http.routers.<name>`. */
export type HttpRouter = NonNullable<HttpConfiguration['routers']>[string];
/** A router's `tls`. */
export type RouterTlsConfig = NonNullable<HttpRouter['tls']>;
/** A certificate domain: `main` and its `sans`. */
export type TlsDomain = NonNullable<RouterTlsConfig['domains']>[number];
/** `http.services.<name>`. */
export type HttpService = NonNullable<HttpConfiguration['services']>[string];
/** `loadBalancer` of an HTTP service. */
export type ServersLoadBalancer = NonNullable<HttpService['loadBalancer']>;
/** One server of an HTTP load balancer. */
export type HttpServer = NonNullable<ServersLoadBalancer['servers']>[number];
/** `sticky.cookie`. */
export type StickyCookie = NonNullable<NonNullable<ServersLoadBalancer['sticky']>['cookie']>;
/** An active health check. */
export type ServerHealthCheck = NonNullable<ServersLoadBalancer['healthCheck']>;
/** `mirroring` service. */
export type Mirroring = NonNullable<HttpService['mirroring']>;
/** `failover` service. */
export type Failover = NonNullable<HttpService['failover']>;
/**
 * A middleware: exactly one key, the Traefik type name (`headers`, `buffering`, …), whose value
 * holds that type's options. The index signature lets the compiler look a type up by name.
 */
export type Middleware = NonNullable<HttpConfiguration['middlewares']>[string] &
  Readonly<Record<string, Record<string, unknown>>>;
/** `http.serversTransports.<name>`. */
export type ServersTransport = NonNullable<HttpConfiguration['serversTransports']>[string];

/** `tcp`. */
export type TcpConfiguration = NonNullable<DynamicConfig['tcp']>;
/** `tcp.routers.<name>`. */
export type TcpRouter = NonNullable<TcpConfiguration['routers']>[string];
/** A TCP router's `tls`. */
export type TcpRouterTlsConfig = NonNullable<TcpRouter['tls']>;
/** `tcp.services.<name>`. */
export type TcpService = NonNullable<TcpConfiguration['services']>[string];
/** `loadBalancer` of a TCP service. */
export type TcpServersLoadBalancer = NonNullable<TcpService['loadBalancer']>;
/** One TCP server. */
export type TcpServer = NonNullable<TcpServersLoadBalancer['servers']>[number];
/** `tcp.serversTransports.<name>`. */
export type TcpServersTransport = NonNullable<TcpConfiguration['serversTransports']>[string];

/** `udp`. */
export type UdpConfiguration = NonNullable<DynamicConfig['udp']>;
/** `udp.routers.<name>`. */
export type UdpRouter = NonNullable<UdpConfiguration['routers']>[string];
/** `udp.services.<name>`. */
export type UdpService = NonNullable<UdpConfiguration['services']>[string];

/** `tls`. */
export type TlsConfiguration = NonNullable<DynamicConfig['tls']>;
/** One of `tls.certificates`: a path or the PEM itself, as in Traefik. */
export type CertAndStores = NonNullable<TlsConfiguration['certificates']>[number];
/** `tls.options.<name>`. */
export type TlsOptions = NonNullable<TlsConfiguration['options']>[string];
/** `tls.stores.<name>`. */
export type TlsStore = NonNullable<TlsConfiguration['stores']>[string];
