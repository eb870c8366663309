import type { StorageStatus } from '../acme/certificate-manager.ts';
import type { ServiceInfo } from '../http/service-builder.ts';
import type { ProviderState } from '../providers/provider.ts';
import type { L4CounterState } from '../tcp/l4-counters.ts';
import type { MetricsState } from './metrics-state.ts';
import { type Exposition, labelString } from './prometheus-text.ts';

/*
 * The gauges of the exposition: what `render` reads of the live state besides the request counters
 * (configuration, connections, certificates, ACME storage, fleet, L4 counters, providers). Apart
 * from `Metrics` so the collector holds only the counting and the request families.
 */

/** A certificate as the `tls_certs_not_after` gauge needs it. */
export interface CertificateInfo {
  readonly names: readonly string[];
  readonly notAfter: Date;
  readonly serial?: string;
}

/** The live state `render` reads besides the request counters. */
export interface MetricsSources {
  /** What the gauges read of the snapshot in force (a `RoutingSnapshot` fits). */
  readonly snapshot: {
    readonly version: number;
    readonly createdAt: number;
    readonly serviceInfo: ReadonlyMap<string, ServiceInfo>;
  };
  readonly providers: ReadonlyMap<string, ProviderState>;
  readonly certificates: readonly CertificateInfo[];
  /** Open connections per entrypoint (`TCP` / `UDP`, as Traefik labels them). */
  readonly openConnections?: readonly { entrypoint: string; protocol: string; count: number }[];
  /** The latest `exportState()` of each data-plane worker, added to this process's own counts. */
  readonly workers?: readonly MetricsState[];
  /** Per ACME resolver: whether its storage holds what it issued, and its failed writes. */
  readonly acmeStorage?: readonly StorageStatus[];
  /** Fleet mode: Redis connection, leases held, last reconcile. */
  readonly fleet?: {
    readonly node: string;
    readonly connected: boolean;
    readonly leases: readonly string[];
    readonly lastSync?: string;
  };
}

/** The configuration, connection, certificate, ACME storage and fleet gauges, under `p`. */
export function renderStateGauges(e: Exposition, p: string, src: MetricsSources): void {
  const snap = src.snapshot;
  e.family(`${p}_config_reloads_total`, 'counter', 'Config reloads.').sample(
    `${p}_config_reloads_total`,
    '',
    snap.version,
  );
  e.family(`${p}_config_last_reload_success`, 'gauge', 'Last config reload success (Unix time, seconds).').sample(
    `${p}_config_last_reload_success`,
    '',
    Math.floor(snap.createdAt / 1000),
  );

  if (src.openConnections && src.openConnections.length > 0) {
    e.family(`${p}_open_connections`, 'gauge', 'How many open connections exist, by entryPoint and protocol.');
    for (const c of src.openConnections)
      e.sample(`${p}_open_connections`, labelString(['entrypoint', 'protocol'], [c.entrypoint, c.protocol]), c.count);
  }

  if (src.certificates.length > 0) {
    e.family(`${p}_tls_certs_not_after`, 'gauge', 'Certificate expiration timestamp (Unix time, seconds).');
    const seen = new Set<string>();
    for (const c of src.certificates) {
      const labels = labelString(['cn', 'sans', 'serial'], [c.names[0] ?? '', c.names.join(','), c.serial ?? '']);
      if (seen.has(labels)) continue;
      seen.add(labels);
      e.sample(`${p}_tls_certs_not_after`, labels, Math.floor(c.notAfter.getTime() / 1000));
    }
  }

  if (src.acmeStorage && src.acmeStorage.length > 0) {
    // Not Traefik's: a certificate that exists only in memory is lost with the process (and ordered again).
    e.family(
      'berth_acme_storage_stored',
      'gauge',
      'ACME storage holds every account and certificate the resolver has (1), or a write failed and is being retried (0).',
    );
    for (const s of src.acmeStorage)
      e.sample(
        'berth_acme_storage_stored',
        labelString(['resolver', 'storage'], [s.resolver, s.storage]),
        s.stored ? 1 : 0,
      );
    e.family('berth_acme_storage_write_failures_total', 'counter', 'Failed writes of the ACME storage.');
    for (const s of src.acmeStorage)
      e.sample(
        'berth_acme_storage_write_failures_total',
        labelString(['resolver', 'storage'], [s.resolver, s.storage]),
        s.failedWrites,
      );
  }

  if (src.fleet) {
    const node = labelString(['node'], [src.fleet.node]);
    e.family(
      'berth_fleet_connected',
      'gauge',
      "This host reaches the fleet's Redis (1) or serves from its local copy (0).",
    );
    e.sample('berth_fleet_connected', node, src.fleet.connected ? 1 : 0);
    e.family(
      'berth_fleet_leases_held',
      'gauge',
      'Order leases this host holds (certificates it is ordering for the fleet).',
    );
    e.sample('berth_fleet_leases_held', node, src.fleet.leases.length);
    e.family(
      'berth_fleet_last_sync_timestamp_seconds',
      'gauge',
      'When this host last reconciled its certificates with Redis.',
    );
    e.sample(
      'berth_fleet_last_sync_timestamp_seconds',
      node,
      src.fleet.lastSync ? Math.floor(Date.parse(src.fleet.lastSync) / 1000) : 0,
    );
  }
}

/** berth's own L4 counters, summed over this process, exited workers and live workers. */
export function renderL4(e: Exposition, states: readonly L4CounterState[]): void {
  const sum = (
    rows: (s: L4CounterState) => L4CounterState['tcpRefused'],
    names: [string, string],
  ): Map<string, number> => {
    const out = new Map<string, number>();
    for (const s of states)
      for (const [a, b, n] of rows(s)) {
        const l = labelString(names, [a, b]);
        out.set(l, (out.get(l) ?? 0) + n);
      }
    return out;
  };
  const refused = sum((s) => s.tcpRefused, ['router', 'middleware']);
  if (refused.size > 0) {
    e.family(
      'berth_tcp_connections_refused_total',
      'counter',
      "TCP connections closed by a router's middleware before any upstream was dialled.",
    );
    for (const [l, n] of refused) e.sample('berth_tcp_connections_refused_total', l, n);
  }
  const dropped = sum((s) => s.udpDropped, ['entrypoint', 'reason']);
  if (dropped.size > 0) {
    e.family(
      'berth_udp_sessions_dropped_total',
      'counter',
      "UDP sessions lost at the session table's bound: evicted to make room, or refused.",
    );
    for (const [l, n] of dropped) e.sample('berth_udp_sessions_dropped_total', l, n);
  }
}

/** Each provider's state, and the claims refused because another repository owns them. */
export function renderProviderGauges(e: Exposition, providers: ReadonlyMap<string, ProviderState>): void {
  e.family('berth_provider_up', 'gauge', 'Provider state: 1 when ok, 0 when starting, degraded or down.');
  for (const [name, st] of providers)
    e.sample('berth_provider_up', labelString(['provider'], [name]), st.status === 'ok' ? 1 : 0);
  if ([...providers.values()].some((st) => st.refusedClaims !== undefined)) {
    // Not Traefik's: a repository asking for a host (entrypoint, name) that another repository owns.
    e.family(
      'berth_claims_refused',
      'gauge',
      'Claims currently refused because another repository owns the host, entrypoint or name, by provider and daemon.',
    );
    for (const [name, st] of providers)
      for (const [daemon, n] of Object.entries(st.refusedClaims ?? {}))
        e.sample('berth_claims_refused', labelString(['provider', 'daemon'], [name, daemon]), n);
  }
}
