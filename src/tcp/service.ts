import { isIP } from 'node:net';
import type { TcpConfiguration, TcpService, TcpServersTransport } from '../config/dynamic/types.ts';
import { parseDuration } from '../lib/duration.ts';
import { readRootCAs } from '../lib/root-cas.ts';
import { WeightedRoundRobin } from '../lib/weighted-round-robin.ts';
import { providerOf, qualify } from '../model/qualified-name.ts';
import { parseHostPort } from './address.ts';
import type { TcpServerTarget, TcpServiceHandler, TcpUpstreamOptions } from './routing.ts';

/** Traefik's default dial timeout for TCP servers. */
const DEFAULT_DIAL_TIMEOUT_MS = 30_000;
const MAX_DEPTH = 10;

/** A service that could be built, or why not. */
export type TcpServiceResult =
  | { readonly ok: true; readonly service: TcpServiceHandler }
  | { readonly ok: false; readonly error: string };

/**
 * Builds every TCP service of the merged configuration: `loadBalancer` (weighted round robin over
 * servers, PROXY protocol, termination delay, TLS to servers through `serversTransport`) and
 * `weighted` (weighted round robin over other services, cycles refused). Each broken service is
 * an error result of its own; the others build.
 */
export function buildTcpServices(tcp: TcpConfiguration | undefined): Map<string, TcpServiceResult> {
  const defs = tcp?.services ?? {};
  const out = new Map<string, TcpServiceResult>();
  const build = (name: string, stack: readonly string[]): TcpServiceResult => {
    const done = out.get(name);
    if (done) return done;
    const def = defs[name];
    let res: TcpServiceResult;
    if (!def) res = { ok: false, error: `unknown service "${name}"` };
    else if (stack.includes(name) || stack.length > MAX_DEPTH)
      res = { ok: false, error: `service "${name}" refers to itself through ${stack.join(' → ')}` };
    else res = buildOne(name, def, tcp?.serversTransports ?? {}, (child) => build(child, [...stack, name]));
    out.set(name, res);
    return res;
  };
  for (const name of Object.keys(defs)) build(name, []);
  return out;
}

function buildOne(
  name: string,
  def: TcpService,
  transports: Record<string, TcpServersTransport>,
  child: (name: string) => TcpServiceResult,
): TcpServiceResult {
  if (def.loadBalancer && def.weighted)
    return { ok: false, error: 'a service has either loadBalancer or weighted, not both' };
  if (def.weighted) {
    const items: { item: TcpServiceHandler; weight: number }[] = [];
    for (const ref of def.weighted.services ?? []) {
      const qualified = qualify(ref.name, providerOf(name));
      const c = child(qualified);
      if (!c.ok) return { ok: false, error: `weighted child "${qualified}": ${c.error}` };
      items.push({ item: c.service, weight: ref.weight ?? 1 });
    }
    if (items.length === 0) return { ok: false, error: 'weighted service without services' };
    const wrr = new WeightedRoundRobin(items);
    const servers = items.flatMap((i) => i.item.servers);
    return { ok: true, service: { name, servers, pick: () => wrr.next()?.pick() } };
  }
  const lb = def.loadBalancer;
  if (!lb) return { ok: false, error: 'service has neither loadBalancer nor weighted' };
  const opts = upstreamOptions(name, lb, transports);
  if (typeof opts === 'string') return { ok: false, error: opts };
  const servers: TcpServerTarget[] = [];
  const items: { item: TcpServerTarget; weight: number }[] = [];
  for (const [i, s] of (lb.servers ?? []).entries()) {
    const hp = typeof s?.address === 'string' ? parseHostPort(s.address) : undefined;
    if (!hp)
      return { ok: false, error: `loadBalancer.servers[${i}].address ${JSON.stringify(s?.address)} is not host:port` };
    const target: TcpServerTarget = {
      address: s.address,
      host: hp.host,
      port: hp.port,
      tls: s.tls === true,
      options:
        s.tls === true && opts.tls.servername === undefined && isIP(hp.host) === 0
          ? { ...opts, tls: { ...opts.tls, servername: hp.host } }
          : opts,
    };
    servers.push(target);
    items.push({ item: target, weight: s.weight ?? 1 });
  }
  if (servers.length === 0) return { ok: false, error: 'loadBalancer has no servers' };
  const wrr = new WeightedRoundRobin(items);
  return { ok: true, service: { name, servers, pick: () => wrr.next() } };
}

function upstreamOptions(
  name: string,
  lb: NonNullable<TcpService['loadBalancer']>,
  transports: Record<string, TcpServersTransport>,
): TcpUpstreamOptions | string {
  let proxyProtocol: 0 | 1 | 2 = 0;
  if (lb.proxyProtocol) {
    const v = lb.proxyProtocol.version ?? 2;
    if (v !== 1 && v !== 2) return `proxyProtocol.version ${v} is not 1 or 2`;
    proxyProtocol = v;
  }
  let transport: TcpServersTransport | undefined;
  if (lb.serversTransport) {
    const ref = qualify(lb.serversTransport, providerOf(name));
    transport = transports[ref] ?? transports[lb.serversTransport];
    if (!transport) return `unknown serversTransport "${lb.serversTransport}"`;
  }
  const dial = transport?.dialTimeout !== undefined ? parseDuration(transport.dialTimeout) : DEFAULT_DIAL_TIMEOUT_MS;
  if (dial === undefined)
    return `serversTransport dialTimeout ${JSON.stringify(transport?.dialTimeout)} is not a duration`;
  // berth waits for both directions unless a termination delay is configured: half-closed
  // protocols (a client that sends its request and FIN, then reads) keep working.
  let termination = -1;
  if (typeof lb.terminationDelay === 'number') termination = lb.terminationDelay;
  else if (transport?.terminationDelay !== undefined) {
    const t = parseDuration(transport.terminationDelay);
    if (t === undefined)
      return `serversTransport terminationDelay ${JSON.stringify(transport.terminationDelay)} is not a duration`;
    termination = t;
  }
  let ca: string[] | undefined;
  if (transport?.tls?.rootCAs?.length) {
    const read = readRootCAs(transport.tls.rootCAs);
    if ('error' in read) return read.error;
    ca = read.ca;
  }
  const tls: TcpUpstreamOptions['tls'] = {
    rejectUnauthorized: transport?.tls?.insecureSkipVerify !== true,
    ...(transport?.tls?.serverName ? { servername: transport.tls.serverName } : {}),
    ...(ca ? { ca } : {}),
  };
  return {
    proxyProtocol,
    terminationDelayMs: termination < 0 ? -1 : termination,
    dialTimeoutMs: dial === 0 ? DEFAULT_DIAL_TIMEOUT_MS : dial,
    tls,
  };
}
