import type { TLSSocket } from 'node:tls';
import type { RoutingSnapshot } from '../pipeline/snapshot.ts';
import { providerOf, qualify } from '../lib/qualified-name.ts';
import { normalizeHost } from '../rules/host.ts';
import { compileTlsOptions, type CompiledTlsOptions } from './options.ts';

/** The TLS options a handshake used, kept on its socket for the checks that follow it. */
export interface HandshakePolicy {
  /** Qualified options name (`default`, `mtls@file`). */
  readonly name: string;
  readonly options: CompiledTlsOptions;
}

interface SnapshotPolicy {
  /** Literal host → options name, for hosts whose HTTPS routers name options. */
  readonly hosts: ReadonlyMap<string, string>;
  readonly compiled: Map<string, CompiledTlsOptions>;
  /** Router name → the options its requests must have been handshaken with (the 421 check). */
  readonly wanted: ReadonlyMap<string, string>;
}

const bySnapshot = new WeakMap<RoutingSnapshot, SnapshotPolicy>();
const kPolicy = Symbol('berth.tlsPolicy');

/** The options name a router refers to, qualified as the merged configuration names them. */
export function routerOptionsName(routerName: string, ref: string | undefined): string {
  if (!ref || ref === 'default') return 'default';
  const at = routerName.lastIndexOf('@');
  return ref.includes('@') || at < 0 ? ref : qualify(ref, providerOf(routerName));
}

/** The options name a request routed to `routerName` must have been handshaken with (`default` when it names none or unknown ones). */
export function wantedOptionsName(snap: RoutingSnapshot, routerName: string): string {
  return policyOf(snap).wanted.get(routerName) ?? 'default';
}

function policyOf(snap: RoutingSnapshot): SnapshotPolicy {
  let p = bySnapshot.get(snap);
  if (p) return p;
  const hosts = new Map<string, string>();
  const conflicting = new Set<string>();
  const routers = snap.config.http?.routers ?? {};
  const wanted = new Map<string, string>();
  const known = snap.config.tls?.options ?? {};
  for (const tables of snap.http.values()) {
    for (const r of tables.tls.routers) {
      const name = routerOptionsName(r.name, routers[r.name]?.tls?.options);
      // Options that do not exist: the handshake falls back to the default ones.
      wanted.set(r.name, name !== 'default' && known[name] === undefined ? 'default' : name);
      for (const h of r.hosts ?? []) {
        const prev = hosts.get(h);
        if (prev !== undefined && prev !== name) conflicting.add(h);
        else hosts.set(h, name);
      }
    }
  }
  // Traefik: a host whose routers name different options gets the default ones.
  for (const h of conflicting) hosts.set(h, 'default');
  p = { hosts, compiled: new Map(), wanted };
  bySnapshot.set(snap, p);
  return p;
}

/**
 * The TLS options for a handshake with `servername` (Traefik's rule: the options of the HTTPS
 * routers whose rule names that host, else `default`). Options that do not exist fall back to the
 * default ones — never to none.
 */
export function handshakePolicy(snap: RoutingSnapshot, servername: string | undefined): HandshakePolicy {
  const p = policyOf(snap);
  let name = servername ? (p.hosts.get(normalizeHost(servername)) ?? 'default') : 'default';
  const defs = snap.config.tls?.options ?? {};
  if (name !== 'default' && defs[name] === undefined) name = 'default';
  let options = p.compiled.get(name);
  if (!options) {
    options = compileTlsOptions(defs[name], `tls.options.${name}`);
    p.compiled.set(name, options);
  }
  return { name, options };
}

/** Records the policy a socket's handshake used. */
export function rememberPolicy(socket: TLSSocket, policy: HandshakePolicy): void {
  (socket as TLSSocket & { [kPolicy]?: HandshakePolicy })[kPolicy] = policy;
}

/** The policy a socket's handshake used (undefined before SNI selection, or on non-TLS sockets). */
export function policyOfSocket(socket: unknown): HandshakePolicy | undefined {
  return (socket as { [kPolicy]?: HandshakePolicy } | undefined)?.[kPolicy];
}
