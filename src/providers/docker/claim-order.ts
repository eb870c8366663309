/**
 * The order in which containers claim hosts across daemons: creation time, then the daemon's
 * endpoint in the configuration, then the container id. Never the order in which daemons answer,
 * which varies from one start of berth to the next.
 */
import type { ContainerView } from '../../config/labels/types.ts';

const RFC3339 = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/**
 * A string that sorts like the instant `created` names, to the nanosecond (Docker reports creation
 * times with nanoseconds, trailing zeros trimmed, so the raw strings do not sort). Unknown or
 * unparsable times sort after every known one.
 */
export function creationKey(created: string | undefined): string {
  const m = created === undefined ? null : RFC3339.exec(created.trim());
  if (!m) return '~';
  const seconds = Date.parse(`${m[1]}${m[3]}`) / 1000;
  if (!Number.isFinite(seconds)) return '~';
  // Offset so that times before 1970 still sort as non-negative fixed-width numbers.
  return `${String(seconds + 1e11).padStart(13, '0')}.${(m[2] ?? '').padEnd(9, '0')}`;
}

/** Where a daemon's endpoint stands in the configuration: spec index, then the endpoint itself. */
export interface EndpointRank {
  readonly index: number;
  readonly endpoint: string;
}

/** Compares containers in claim order; `rank` gives each daemon's endpoint position. */
export function claimOrder(rank: (daemon: string) => EndpointRank): (a: ContainerView, b: ContainerView) => number {
  const keys = new Map<ContainerView, string>();
  const key = (c: ContainerView): string => {
    let k = keys.get(c);
    if (k === undefined) keys.set(c, (k = creationKey(c.created)));
    return k;
  };
  return (a, b) => {
    const ka = key(a);
    const kb = key(b);
    if (ka !== kb) return ka < kb ? -1 : 1;
    const ra = rank(a.daemon);
    const rb = rank(b.daemon);
    if (ra.index !== rb.index) return ra.index - rb.index;
    if (ra.endpoint !== rb.endpoint) return ra.endpoint < rb.endpoint ? -1 : 1;
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
}
