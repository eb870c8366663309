/**
 * The Docker provider's view of its daemons: what it keeps per daemon, what `/health` shows of
 * them, and the decoder options derived from the static configuration.
 */
import type { ContainerView, LabelDecodeOptions } from '../../config/labels/types.ts';
import type { DockerProviderConfig, EdgeConfig } from '../../config/static/types.ts';
import type { ProviderState, ProviderStatus } from '../provider.ts';
import type { EndpointRank } from './claim-order.ts';
import type { DaemonStatus, DaemonWatcher } from './daemon-watcher.ts';

/** One watched daemon. */
export interface Daemon {
  readonly id: string;
  readonly endpoint: string;
  /** Found through a glob only: may be dropped when its socket disappears for good. */
  readonly fromGlob: boolean;
  readonly socketPath?: string;
  readonly watcher: DaemonWatcher;
  /** Its endpoint's place in the configuration: the tie-break of equal creation times. */
  readonly rank: EndpointRank;
  status: DaemonStatus;
  error?: string;
  since: number;
  goneSince?: number | undefined;
}

/** Per-daemon entry of `details` in the provider state (what `/health` shows). */
export interface DaemonDetail {
  readonly endpoint: string;
  readonly status: DaemonStatus;
  readonly error?: string;
  readonly containers: number;
  /** Epoch ms of the last container event. */
  readonly lastEvent?: number;
  /** Epoch ms of the last status change. */
  readonly since: number;
}

/** The provider state `/health` shows: overall status, one detail per daemon, refused claims. */
export function providerState(
  daemons: Iterable<Daemon>,
  containers: Iterable<ContainerView>,
  lastUpdate: number | undefined,
  refused: Readonly<Record<string, number>>,
): ProviderState {
  const list = [...daemons];
  const details: Record<string, DaemonDetail> = {};
  const counts = new Map<string, number>();
  for (const v of containers) if (v.running) counts.set(v.daemon, (counts.get(v.daemon) ?? 0) + 1);
  for (const d of list) {
    const lastEvent = d.watcher.lastEvent;
    details[d.id] = {
      endpoint: d.endpoint,
      status: d.status,
      ...(d.error !== undefined && d.status === 'down' ? { error: d.error } : {}),
      containers: counts.get(d.id) ?? 0,
      ...(lastEvent !== undefined ? { lastEvent } : {}),
      since: d.since,
    };
  }
  const down = list.filter((d) => d.status === 'down');
  let status: ProviderStatus = 'ok';
  if (down.length > 0) status = down.length === list.length ? 'down' : 'degraded';
  else if (list.some((d) => d.status === 'starting')) status = 'starting';
  const error = down.map((d) => `${d.id}: ${d.error ?? 'down'}`).join('; ');
  return {
    status,
    ...(error ? { error } : {}),
    ...(lastUpdate !== undefined ? { lastUpdate } : {}),
    details,
    refusedClaims: refused,
  };
}

/** The label decoder's options from the static configuration and berth's own networks by daemon. */
export function decodeOptions(
  c: DockerProviderConfig,
  e: EdgeConfig,
  ownNetworks: Readonly<Record<string, readonly string[]>>,
): LabelDecodeOptions {
  return {
    exposedByDefault: c.exposedByDefault,
    defaultRule: c.defaultRule,
    ...(c.network !== undefined ? { network: c.network } : {}),
    ...(c.constraints !== undefined ? { constraints: c.constraints } : {}),
    ...(c.useBindPortIP !== undefined ? { useBindPortIP: c.useBindPortIP } : {}),
    ...(c.allowEmptyServices !== undefined ? { allowEmptyServices: c.allowEmptyServices } : {}),
    ownNetworks,
    edge: {
      autoRoutes: e.autoRoutes,
      ...(e.machineName !== undefined ? { machineName: e.machineName } : {}),
      ...(e.baseDomain !== undefined ? { baseDomain: e.baseDomain } : {}),
      ...(e.certResolver !== undefined ? { certResolver: e.certResolver } : {}),
    },
  };
}
