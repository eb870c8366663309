import type { ContainerView } from '../../config/labels/types.ts';

/** The parts of `docker inspect` output berth reads; everything is optional because daemons vary. */
export interface InspectLike {
  readonly Id?: string;
  readonly Name?: string;
  /** RFC 3339 with nanoseconds. */
  readonly Created?: string;
  readonly Config?: {
    readonly Labels?: Record<string, string> | null;
    readonly Env?: string[] | null;
    readonly ExposedPorts?: Record<string, unknown> | null;
  } | null;
  readonly State?: {
    readonly Running?: boolean;
    readonly Paused?: boolean;
    readonly Restarting?: boolean;
    /** RFC 3339; `0001-01-01T00:00:00Z` for a container that never ran. */
    readonly FinishedAt?: string;
    readonly Health?: { readonly Status?: string } | null;
  } | null;
  readonly HostConfig?: { readonly NetworkMode?: string } | null;
  readonly NetworkSettings?: {
    readonly Networks?: Record<
      string,
      { readonly IPAddress?: string; readonly GlobalIPv6Address?: string } | null
    > | null;
    readonly Ports?: Record<string, { readonly HostIp?: string; readonly HostPort?: string }[] | null> | null;
  } | null;
}

const HEALTH = new Set(['starting', 'healthy', 'unhealthy']);

/**
 * Builds the decoder's view of a container from `docker inspect`. A container that cannot serve
 * (stopped, created, paused, restarting) gets `running: false`: it routes nowhere, as in Traefik,
 * but the claims it holds are kept while it exists. Undefined only without an id. Never throws on
 * odd input.
 */
export function toContainerView(info: InspectLike, daemon: string): ContainerView | undefined {
  const state = info.State ?? {};
  const running = state.Running === true && !state.Paused && !state.Restarting;
  const id = typeof info.Id === 'string' ? info.Id : '';
  if (!id) return undefined;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(info.Config?.Labels ?? {})) if (typeof v === 'string') labels[k] = v;
  const networks: Record<string, string> = {};
  for (const [name, n] of Object.entries(info.NetworkSettings?.Networks ?? {})) {
    networks[name] = n?.IPAddress || n?.GlobalIPv6Address || '';
  }
  const status = state.Health?.Status;
  const view: {
    -readonly [K in keyof ContainerView]: ContainerView[K];
  } = {
    id,
    name: String(info.Name ?? '').replace(/^\//, '') || id.slice(0, 12),
    daemon,
    labels,
    env: (info.Config?.Env ?? []).filter((e): e is string => typeof e === 'string'),
    running,
    health: status && HEALTH.has(status) ? (status as ContainerView['health']) : 'none',
    networks,
    networkMode: info.HostConfig?.NetworkMode ?? '',
    ports: ports(info),
  };
  const project = labels['com.docker.compose.project'];
  const service = labels['com.docker.compose.service'];
  if (typeof info.Created === 'string' && info.Created !== '') view.created = info.Created;
  if (!running && typeof state.FinishedAt === 'string' && !state.FinishedAt.startsWith('0001-'))
    view.finished = state.FinishedAt;
  if (project) view.composeProject = project;
  if (service) view.composeService = service;
  return view;
}

/** Exposed ports (image + `--expose`) merged with published bindings, sorted by port. */
function ports(info: InspectLike): ContainerView['ports'] {
  const out = new Map<string, ContainerView['ports'][number]>();
  const keys = new Set([
    ...Object.keys(info.Config?.ExposedPorts ?? {}),
    ...Object.keys(info.NetworkSettings?.Ports ?? {}),
  ]);
  for (const key of keys) {
    const m = /^(\d+)(?:\/(tcp|udp|sctp))?$/.exec(key);
    const port = Number(m?.[1]);
    const protocol = m?.[2] ?? 'tcp';
    if (!m || !(port > 0 && port < 65536) || (protocol !== 'tcp' && protocol !== 'udp')) continue;
    const binding = (info.NetworkSettings?.Ports?.[key] ?? []).find((b) => b && Number(b.HostPort) > 0);
    const entry: { port: number; protocol: 'tcp' | 'udp'; hostIp?: string; hostPort?: number } = { port, protocol };
    if (binding) {
      entry.hostPort = Number(binding.HostPort);
      if (binding.HostIp) entry.hostIp = binding.HostIp;
    }
    out.set(`${port}/${protocol}`, entry);
  }
  return [...out.values()].sort((a, b) => a.port - b.port || a.protocol.localeCompare(b.protocol));
}
