import type { TLSSocket } from 'node:tls';
import type { TlsOptions } from '../config/dynamic/types.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import { providerOf, qualify } from '../model/qualified-name.ts';
import { normalizeHost } from '../rules/host.ts';
import { compileTlsOptions, type CompiledTlsOptions } from './compile-tls-options.ts';

/** The TLS options a handshake used, kept on its socket for the checks that follow it. */
export interface HandshakePolicy {
  /** Qualified options name (`default`, `mtls@file`). */
  readonly name: string;
  readonly options: CompiledTlsOptions;
}

/**
 * Which TLS options each handshake and each HTTPS router uses, compiled once per snapshot so a
 * handshake only looks its SNI up. Immutable, like the snapshot that holds it.
 */
export interface TlsPolicy {
  /** Literal host → the options of the HTTPS routers whose rule names it. */
  readonly byHost: ReadonlyMap<string, HandshakePolicy>;
  /** The `default` options: hosts no router names, handshakes without SNI, unknown options. */
  readonly fallback: HandshakePolicy;
  /** Router name → the options its requests must have been handshaken with (the 421 check). */
  readonly wanted: ReadonlyMap<string, string>;
}

/** An HTTPS router as the policy needs it: its name, the literal hosts of its rule, its `tls.options`. */
export interface TlsRouterRef {
  /** Qualified router name. */
  readonly name: string;
  /** Literal hosts the rule requires, null when any host may match. */
  readonly hosts: readonly string[] | null;
  /** The router's `tls.options` as configured (unqualified within the router's provider). */
  readonly options: string | undefined;
}

const kPolicy = Symbol('berth.tlsPolicy');

/** The options name a router refers to, qualified as the merged configuration names them. */
export function routerOptionsName(routerName: string, ref: string | undefined): string {
  if (!ref || ref === 'default') return 'default';
  return routerName.includes('@') ? qualify(ref, providerOf(routerName)) : ref;
}

/**
 * Compiles the TLS policy of a configuration (Traefik's rule: a handshake uses the options of the
 * HTTPS routers whose rule names its SNI, else `default`; a host whose routers name different
 * options gets `default`; options that do not exist fall back to `default` — never to none).
 * Every defined options entry is compiled, so its problems are reported with the configuration.
 */
export function buildTlsPolicy(
  routers: Iterable<TlsRouterRef>,
  defs: Readonly<Record<string, TlsOptions>>,
): { policy: TlsPolicy; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const compiled = new Map<string, HandshakePolicy>();
  for (const name of new Set(['default', ...Object.keys(defs)])) {
    const options = compileTlsOptions(defs[name], `tls.options.${name}`);
    diagnostics.push(...options.diagnostics);
    compiled.set(name, { name, options });
  }
  const fallback = compiled.get('default')!;
  const known = (name: string): string => (compiled.has(name) ? name : 'default');
  const hosts = new Map<string, string>();
  const conflicting = new Set<string>();
  const wanted = new Map<string, string>();
  for (const r of routers) {
    const name = routerOptionsName(r.name, r.options);
    wanted.set(r.name, known(name));
    for (const h of r.hosts ?? []) {
      const prev = hosts.get(h);
      if (prev !== undefined && prev !== name) conflicting.add(h);
      else hosts.set(h, name);
    }
  }
  const byHost = new Map<string, HandshakePolicy>();
  for (const [h, name] of hosts) byHost.set(h, conflicting.has(h) ? fallback : compiled.get(known(name))!);
  return { policy: { byHost, fallback, wanted }, diagnostics };
}

/** The TLS options for a handshake with `servername`. */
export function handshakePolicy(policy: TlsPolicy, servername: string | undefined): HandshakePolicy {
  return servername ? (policy.byHost.get(normalizeHost(servername)) ?? policy.fallback) : policy.fallback;
}

/** The options name a request routed to `routerName` must have been handshaken with (`default` when it names none or unknown ones). */
export function wantedOptionsName(snap: { readonly tlsPolicy: TlsPolicy }, routerName: string): string {
  return snap.tlsPolicy.wanted.get(routerName) ?? 'default';
}

/** Records the policy a socket's handshake used. */
export function rememberPolicy(socket: TLSSocket, policy: HandshakePolicy): void {
  (socket as TLSSocket & { [kPolicy]?: HandshakePolicy })[kPolicy] = policy;
}

/** The policy a socket's handshake used (undefined before SNI selection, or on non-TLS sockets). */
export function policyOfSocket(socket: unknown): HandshakePolicy | undefined {
  return (socket as { [kPolicy]?: HandshakePolicy } | undefined)?.[kPolicy];
}
