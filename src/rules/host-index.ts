import { compareRouters } from './router-order.ts';

/** A router as the index sees it: its order, the hosts it is limited to, and its test. */
interface Entry<T, V> {
  readonly router: T;
  readonly rank: number;
  readonly match: (view: V) => boolean;
}

/** First-match lookup over routers sorted by `compareRouters`, narrowed by the request's host. */
export interface HostIndex<T, V> {
  /** The first router, in order, whose rule matches; undefined when none does. */
  find(view: V): T | undefined;
  /** All routers in the order they are tried. */
  readonly ordered: readonly T[];
}

/**
 * Builds the host index shared by HTTP routers (Host) and TCP routers (HostSNI). Routers with literal
 * hosts are filed under each of them; routers that can match any host (`hosts === null`) go in one
 * shared list. A lookup is one `Map.get` and a walk that merges the host's list with the shared one
 * by rank, so its cost depends on how many routers can match that host, never on the total number.
 * (Merging at lookup rather than pre-merging keeps memory linear: pre-merged lists would copy the
 * shared list into every host's.)
 */
export function buildHostIndex<T extends { readonly name: string; readonly priority: number }, V>(
  routers: readonly T[],
  hostsOf: (router: T) => readonly string[] | null,
  matchOf: (router: T) => (view: V) => boolean,
  keyOf: (view: V) => string,
): HostIndex<T, V> {
  const ordered = [...routers].sort(compareRouters);
  const byHost = new Map<string, Entry<T, V>[]>();
  const anyHost: Entry<T, V>[] = [];
  ordered.forEach((router, rank) => {
    const entry: Entry<T, V> = { router, rank, match: matchOf(router) };
    const hosts = hostsOf(router);
    if (hosts === null) {
      anyHost.push(entry);
      return;
    }
    for (const host of new Set(hosts)) {
      const list = byHost.get(host);
      if (list) list.push(entry);
      else byHost.set(host, [entry]);
    }
  });

  function find(view: V): T | undefined {
    const own = byHost.get(keyOf(view));
    if (own === undefined) {
      for (let j = 0; j < anyHost.length; j++) {
        const e = anyHost[j] as Entry<T, V>;
        if (e.match(view)) return e.router;
      }
      return undefined;
    }
    let i = 0;
    let j = 0;
    while (i < own.length || j < anyHost.length) {
      const a = own[i];
      const b = anyHost[j];
      let e: Entry<T, V>;
      if (b === undefined || (a !== undefined && a.rank < b.rank)) {
        e = a as Entry<T, V>;
        i++;
      } else {
        e = b;
        j++;
      }
      if (e.match(view)) return e.router;
    }
    return undefined;
  }

  return { find, ordered };
}
