import { getServers } from 'node:dns';
import { BerthError, ErrorCodes } from '../lib/errors.ts';
import { findZone, parseServer, query, rcodeOf, toFqdn, trimDot, txtValues, type DnsServer } from './dns-client.ts';

/**
 * How to confirm a TXT record is visible before asking the CA to validate, with lego's meaning of
 * Traefik's `dnsChallenge` options.
 */
export interface PropagationOptions {
  /** `host:port` recursive servers (`dnsChallenge.resolvers`); empty = the system's. */
  resolvers?: string[];
  /** `propagation.delayBeforeChecks`: wait this long before the first check. */
  delayMs?: number;
  /** `propagation.disableChecks`: no check at all (after the delay). */
  disableChecks?: boolean;
  /** `propagation.requireAllRNS`: every recursive server must return the value. */
  requireAllRNS?: boolean;
  /** `propagation.disableANSChecks`: do not ask the zone's authoritative servers. */
  disableANSChecks?: boolean;
  /** Give up after this long. */
  timeoutMs?: number;
  /** Time between checks. */
  intervalMs?: number;
  /** Cancels the wait (berth stopping, a lost fleet lease). */
  signal?: AbortSignal;
  /** Per query. */
  queryTimeoutMs?: number;
}

/** The recursive servers to use: the configured ones, else the system's. */
export function recursiveServers(resolvers: readonly string[] | undefined): DnsServer[] {
  const list = resolvers && resolvers.length > 0 ? resolvers : getServers();
  return list.map((s) => parseServer(s));
}

/**
 * Where `_acme-challenge.<domain>` really lives: the end of its CNAME chain (delegated
 * validation, acme-dns), unless `LEGO_DISABLE_CNAME_SUPPORT` is true, as lego does.
 */
export async function effectiveChallengeFqdn(
  fqdn: string,
  resolvers: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
  timeoutMs = 2000,
): Promise<string> {
  let name = toFqdn(fqdn);
  if (/^(1|t|true)$/i.test(env['LEGO_DISABLE_CNAME_SUPPORT'] ?? '')) return name;
  const servers = recursiveServers(resolvers);
  for (let hops = 0; hops < 50; hops++) {
    let target: string | undefined;
    for (const s of servers) {
      try {
        const a = await query(s, name, 'CNAME', { timeoutMs });
        if (rcodeOf(a) !== 'NOERROR') break;
        const c = (a.answers ?? []).find((r) => r.type === 'CNAME' && trimDot(r.name) === trimDot(name));
        target = c && c.type === 'CNAME' ? toFqdn(c.data) : undefined;
        break;
      } catch {
        // next server
      }
    }
    if (target === undefined || target === name) break;
    name = target;
  }
  return name;
}

/** One check; returns why it is not there yet, or undefined when it is. */
async function check(
  fqdn: string,
  value: string,
  opts: PropagationOptions,
  servers: DnsServer[],
): Promise<string | undefined> {
  const timeoutMs = opts.queryTimeoutMs ?? 2000;
  const has = async (s: DnsServer, recursion: boolean): Promise<boolean | undefined> => {
    try {
      const a = await query(s, fqdn, 'TXT', { timeoutMs, recursion });
      return txtValues(a, fqdn).includes(value);
    } catch {
      return undefined;
    }
  };
  const rns = await Promise.all(servers.map((s) => has(s, true)));
  if (rns.every((r) => r === undefined)) return 'no recursive server answered';
  if (opts.requireAllRNS && !rns.every((r) => r === true)) return 'not on every recursive server yet';
  if (opts.disableANSChecks) return undefined;
  const authoritative = await authoritativeServers(fqdn, servers, timeoutMs);
  if (authoritative.length === 0) {
    // No authority found through these resolvers (an internal or test DNS that serves no SOA/NS):
    // the record must then be on every resolver, which is where the CA is pointed in such setups.
    return rns.every((r) => r === true) ? undefined : 'not on every resolver yet (no authoritative server found)';
  }
  const ans = await Promise.all(
    authoritative.map(async (group) => {
      for (const s of group) if ((await has(s, false)) === true) return true;
      return false;
    }),
  );
  return ans.every(Boolean) ? undefined : 'not on every authoritative server yet';
}

/** Addresses (port 53) of each authoritative server of the zone holding `fqdn`, one group per server name. */
async function authoritativeServers(fqdn: string, servers: DnsServer[], timeoutMs: number): Promise<DnsServer[][]> {
  const zone = await findZone(fqdn, servers, { timeoutMs });
  if (zone === undefined) return [];
  const names = new Set<string>();
  for (const s of servers) {
    try {
      const a = await query(s, zone, 'NS', { timeoutMs });
      for (const r of a.answers ?? []) if (r.type === 'NS') names.add(r.data);
      if (names.size > 0) break;
    } catch {
      // next server
    }
  }
  const groups: DnsServer[][] = [];
  for (const n of names) {
    const addrs: DnsServer[] = [];
    for (const type of ['A', 'AAAA'] as const) {
      for (const s of servers) {
        try {
          const a = await query(s, n, type, { timeoutMs });
          for (const r of a.answers ?? [])
            if (r.type === 'A' || r.type === 'AAAA') addrs.push({ host: r.data, port: 53 });
          break;
        } catch {
          // next server
        }
      }
    }
    groups.push(addrs);
  }
  return groups.filter((g) => g.length > 0);
}

/**
 * Waits until `fqdn TXT value` is visible as lego checks it: an answer from the recursive servers
 * (the value on all of them with `requireAllRNS`), then the value on every authoritative server
 * of the zone unless `disableANSChecks`. Throws a DNS_PROVIDER error on timeout.
 */
export async function waitForTxt(fqdn: string, value: string, opts: PropagationOptions = {}): Promise<void> {
  if (opts.delayMs) await sleep(opts.delayMs, opts.signal);
  if (opts.disableChecks) return;
  const servers = recursiveServers(opts.resolvers);
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const intervalMs = opts.intervalMs ?? 2000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    const missing = await check(fqdn, value, opts, servers);
    if (missing === undefined) return;
    if (Date.now() > deadline) {
      throw new BerthError(
        ErrorCodes.DNS_PROVIDER,
        `TXT ${fqdn} not visible after ${Math.round(timeoutMs / 1000)} s: ${missing} (resolvers ${servers.map((s) => `${s.host}:${s.port}`).join(', ')})`,
      );
    }
    await sleep(intervalMs, opts.signal);
  }
}

/** Waits `ms`, or rejects with the signal's reason when it aborts first. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
