import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { EntryPointConfig } from '../config/static/types.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import type { HttpRequestView } from '../rules/types.ts';
import type { Handler } from '../http/handler.ts';
import type { ServiceInfo } from '../http/service-builder.ts';
import type { ElementStatus } from '../model/element-status.ts';
import type { TcpEntrypointRouting } from '../tcp/routing.ts';
import type { TlsPolicy } from '../tls/policy.ts';
import type { UdpEntrypointRouting } from '../udp/routing.ts';

/** A compiled HTTP router, ready to serve. */
export interface CompiledHttpRouter {
  /** Qualified name, `web@docker`. */
  readonly name: string;
  readonly rule: string;
  readonly priority: number;
  readonly service: string;
  readonly middlewares: readonly string[];
  readonly tls: boolean;
  readonly match: (req: HttpRequestView) => boolean;
  /** Literal hosts the rule requires (host index), null when any host may match. */
  readonly hosts: readonly string[] | null;
  /** Middlewares wrapped around the service. */
  readonly handler: Handler;
}

/** Routers of one entrypoint and one scheme, indexed by host (lookup cost independent of router count). */
export interface HttpRouterTable {
  /** The highest-priority router whose rule matches, or undefined. */
  find(req: HttpRequestView): CompiledHttpRouter | undefined;
  /** Number of routers in the table. */
  readonly size: number;
  /** Every router, highest priority first (API, explain). */
  readonly routers: readonly CompiledHttpRouter[];
}

/**
 * Everything the data plane needs, built completely and then published by one assignment.
 * Never mutated; requests in flight keep the snapshot they started with.
 */
export interface RoutingSnapshot {
  readonly version: number;
  readonly createdAt: number;
  /** The merged configuration with qualified names (what `/config.json` serves). */
  readonly config: DynamicConfig;
  readonly diagnostics: readonly Diagnostic[];
  readonly elements: ReadonlyMap<string, ElementStatus>;
  /** Per entrypoint: routers for plain HTTP and for TLS-terminated HTTP. */
  readonly http: ReadonlyMap<string, { readonly plain: HttpRouterTable; readonly tls: HttpRouterTable }>;
  /** Per entrypoint: TCP routing (built by src/tcp). Absent when the entrypoint has no TCP routers. */
  readonly tcp: ReadonlyMap<string, TcpEntrypointRouting>;
  /** Per UDP entrypoint: UDP routing (built by src/udp). */
  readonly udp: ReadonlyMap<string, UdpEntrypointRouting>;
  /** TLS options per SNI and per HTTPS router, compiled once here rather than at each handshake. */
  readonly tlsPolicy: TlsPolicy;
  /** Service handlers by qualified name. */
  readonly services: ReadonlyMap<string, Handler>;
  /** Dynamic-port entrypoints (`tcp-10003`) that L4 routers need beyond the static ones. */
  readonly extraEntrypoints: Readonly<Record<string, EntryPointConfig>>;
  /** Releases what only this snapshot used (middleware timers and pools); called after it is retired. */
  readonly close: () => void;
  /** Live service state (servers, health) by qualified name. */
  readonly serviceInfo: ReadonlyMap<string, ServiceInfo>;
}
