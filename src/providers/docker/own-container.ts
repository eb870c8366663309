/**
 * berth's own container, when it runs in one: the ids Docker may know it by, so the provider can
 * find it among a daemon's containers and prefer the networks it shares with a target container
 * (SPEC §3, container address).
 */
import { access, readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { ContainerView } from '../../config/labels/types.ts';

const FULL_ID = /^[0-9a-f]{64}$/;

/** Container ids in `/proc/self/cgroup` paths (cgroup v1 `/docker/<id>`, systemd `docker-<id>.scope`). */
export function idsFromCgroup(text: string): string[] {
  const ids: string[] = [];
  for (const line of text.split('\n')) {
    const path = line.slice(line.indexOf(':', line.indexOf(':') + 1) + 1);
    for (const part of path.split('/')) {
      const m = /^(?:docker-)?([0-9a-f]{64})(?:\.scope)?$/.exec(part);
      if (m?.[1]) ids.push(m[1]);
    }
  }
  return ids;
}

/** Container ids in `/proc/self/mountinfo` (`…/containers/<id>/hostname` bind mounts; cgroup v2 hides the cgroup path). */
export function idsFromMountinfo(text: string): string[] {
  return [...text.matchAll(/\/containers\/([0-9a-f]{64})\//g)].map((m) => m[1] ?? '');
}

/**
 * The ids under which berth's own container may be known, most certain first: cgroup and mount
 * paths, then the hostname (Docker's default hostname is the short id), the latter only inside a
 * container (`/.dockerenv`). Empty outside Docker. Never throws.
 */
export async function detectOwnContainerIds(root = '/'): Promise<string[]> {
  const read = (p: string): Promise<string> => readFile(`${root}${p}`, 'utf8').catch(() => '');
  const ids = [
    ...idsFromCgroup(await read('proc/self/cgroup')),
    ...idsFromMountinfo(await read('proc/self/mountinfo')),
  ];
  const inContainer =
    ids.length > 0 ||
    (await access(`${root}.dockerenv`).then(
      () => true,
      () => false,
    ));
  const host = hostname();
  if (inContainer && /^[0-9a-f]{12}$/.test(host)) ids.push(host);
  return [...new Set(ids)];
}

/** Whether `view` is the container one of `ids` names (a full id, or a prefix of at least 12 digits). */
export function isOwnContainer(view: ContainerView, ids: readonly string[]): boolean {
  return ids.some((id) => view.id === id || (id.length >= 12 && !FULL_ID.test(id) && view.id.startsWith(id)));
}

/**
 * Networks of berth's own container on each daemon, found among the daemons' containers. A
 * network name means something only on its own daemon, hence the map by daemon.
 */
export function ownNetworksByDaemon(
  containers: Iterable<ContainerView>,
  ids: readonly string[],
): Record<string, readonly string[]> {
  const out: Record<string, readonly string[]> = {};
  if (ids.length === 0) return out;
  for (const v of containers) {
    if (isOwnContainer(v, ids))
      out[v.daemon] = Object.keys(v.networks)
        .filter((n) => n !== 'host' && n !== 'none')
        .sort();
  }
  return out;
}
