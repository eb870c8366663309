import type { Socket } from 'node:net';
import type { HostIndex } from '../rules/host-index.ts';
import type { TcpConnectionView, TcpRule } from '../rules/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { CompiledTlsOptions } from '../tls/compile-tls-options.ts';
import type { TlsContextSource } from '../tls/types.ts';

/**
 * The compiled, immutable TCP routing of one entrypoint (`RoutingSnapshot.tcp`), and the lookup
 * the dispatcher runs once per connection.
 */

/** A built TCP middleware. */
export interface TcpMiddleware {
  /** Qualified name, `limit@file`. */
  readonly name: string;
  /** Whether the connection from `clientIp` may go on; may hold a slot released when `socket` closes. */
  admit(clientIp: string, socket: Socket): boolean;
}

/** How a TCP service reaches its upstream. */
export interface TcpUpstreamOptions {
  /** 0 = none, else the PROXY protocol version written first on the upstream connection. */
  readonly proxyProtocol: 0 | 1 | 2;
  /** After one side half-closes, fully close both after this long; -1 = wait for both sides. */
  readonly terminationDelayMs: number;
  readonly dialTimeoutMs: number;
  /** TLS client settings for servers with `tls: true`. */
  readonly tls: { readonly servername?: string; readonly rejectUnauthorized: boolean; readonly ca?: readonly string[] };
}

/** One upstream server of a TCP service. */
export interface TcpServerTarget {
  /** `host:port` as configured. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Connect with TLS to the server. */
  readonly tls: boolean;
  readonly options: TcpUpstreamOptions;
}

/** A built TCP service: picks the server for each new connection (weighted round robin). */
export interface TcpServiceHandler {
  readonly name: string;
  /** The next server, or undefined when the service has none. */
  pick(): TcpServerTarget | undefined;
  /** Every server reachable through this service (API). */
  readonly servers: readonly TcpServerTarget[];
}

/** What a TCP router does with the TLS layer of a matching connection. */
export type TcpTlsMode = 'none' | 'passthrough' | 'terminate';

/** A compiled TCP router. */
export interface CompiledTcpRouter {
  /** Qualified name, `db@docker`. */
  readonly name: string;
  readonly rule: string;
  readonly priority: number;
  /** Qualified service name. */
  readonly service: string;
  readonly tls: TcpTlsMode;
  /** TLS options name for `terminate` (qualified; `default` when the router names none). */
  readonly tlsOptions?: string;
  /** Those options compiled: the handshake of a terminated connection follows them. */
  readonly tlsPolicy?: CompiledTlsOptions;
  readonly match: (conn: TcpConnectionView) => boolean;
  /** The compiled rule (SNI index). */
  readonly compiled: TcpRule;
  /** True for `HostSNI(\`*\`)` rules (optionally with ClientIP). */
  readonly catchAll: boolean;
  readonly target: TcpServiceHandler;
  /** The router's middlewares in order, run before the upstream is dialled (empty: none). */
  readonly middlewares: readonly TcpMiddleware[];
}

/** A TLS router as the SNI index holds it. */
export interface IndexedTlsRouter {
  readonly name: string;
  readonly priority: number;
  readonly rule: TcpRule;
  readonly router: CompiledTcpRouter;
}

/** TCP routing of one entrypoint. */
export interface TcpEntrypointRouting {
  readonly entrypoint: string;
  /** Every router, highest priority first. */
  readonly routers: readonly CompiledTcpRouter[];
  /** Routers without TLS (they see non-TLS connections, or all connections when alone). */
  readonly plain: readonly CompiledTcpRouter[];
  /** TLS routers (passthrough or terminate), indexed by literal SNI: lookup cost independent of their number. */
  readonly tlsIndex: HostIndex<IndexedTlsRouter, TcpConnectionView>;
  /** Whether a non-TLS router with `HostSNI(\`*\`)` exists. */
  readonly hasCatchAllPlain: boolean;
  /** Whether any TLS router (passthrough or terminate) exists. */
  readonly hasTlsRouters: boolean;
  /** Certificate store for terminating routers. */
  readonly tlsSource?: TlsContextSource;
  /** Where connections refused by a middleware are reported (rate-limited). */
  readonly logger?: Logger;
}

/** The first plain router whose rule matches a connection (no TLS, or no peeking). */
export function findPlainRouter(routing: TcpEntrypointRouting, view: TcpConnectionView): CompiledTcpRouter | undefined {
  for (const r of routing.plain) if (r.match(view)) return r;
  return undefined;
}

/** The highest-priority TLS router matching a parsed ClientHello. */
export function findTlsRouter(routing: TcpEntrypointRouting, view: TcpConnectionView): CompiledTcpRouter | undefined {
  return routing.tlsIndex.find(view)?.router;
}
