/**
 * Checks that span several sections of the static configuration: references between them
 * (entrypoints, resolvers), listen addresses used twice, and combinations Traefik refuses.
 * Every problem is reported with the path of the key that has to change.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { suggestName as suggestKey } from '../schema/decode.ts';
import { formatListenAddress, parseListenAddress } from './address.ts';
import { tcpPorts } from './generated-entrypoints.ts';
import type { EntryPointConfig, StaticConfig } from './types.ts';

/** Where the checks of one static document put their diagnostics. */
export interface WalkContext {
  readonly source: string;
  readonly diagnostics: Diagnostic[];
}

/** Records an error at `path` (the dotted key to change; '' for the document). */
export function fail(ctx: WalkContext, path: string, message: string): void {
  ctx.diagnostics.push(diagError(ctx.source, path === '' ? undefined : path, message));
}

/** Runs every cross-section check, appending diagnostics to `ctx`. */
export function validateStaticConfig(c: StaticConfig, ctx: WalkContext): void {
  checkEntryPointRefs(c, ctx);
  checkResolvers(c, ctx);
  checkProviders(c, ctx);
  checkEdge(c, ctx);
  if (c.fleet && !c.fleet.redis && !c.fleet.sentinels?.length)
    fail(ctx, 'fleet', 'set fleet.redis (or fleet.sentinels with fleet.masterName)');
  if (c.fleet?.sentinels?.length && !c.fleet.masterName) fail(ctx, 'fleet.masterName', 'required with fleet.sentinels');
  const api = parseListenAddress(c.api.listen);
  if ('error' in api) fail(ctx, 'api.listen', api.error);
  else if (api.protocol === 'udp') fail(ctx, 'api.listen', 'the API listens on TCP; remove "/udp"');
  checkAddresses(c, ctx, 'error' in api || api.protocol === 'udp' ? undefined : { address: c.api.listen, ...api });
}

/** Reports `name` at `path` unless it is a TCP entrypoint. */
function needEntryPoint(c: StaticConfig, ctx: WalkContext, path: string, name: string): void {
  const ep = c.entryPoints[name];
  if (ep === undefined) {
    const guess = suggestKey(name, Object.keys(c.entryPoints));
    fail(ctx, path, `unknown entrypoint "${name}"${guess ? `, did you mean "${guess}"?` : ''}`);
  } else if (ep.protocol !== 'tcp') fail(ctx, path, `entrypoint "${name}" is UDP; an HTTP entrypoint is needed`);
}

function needResolver(c: StaticConfig, ctx: WalkContext, path: string, name: string): void {
  if (name in c.certificatesResolvers) return;
  const guess = suggestKey(name, Object.keys(c.certificatesResolvers));
  fail(ctx, path, `unknown certificate resolver "${name}"${guess ? `, did you mean "${guess}"?` : ''}`);
}

function checkEntryPointRefs(c: StaticConfig, ctx: WalkContext): void {
  for (const [name, ep] of Object.entries(c.entryPoints)) {
    const to = ep.http?.redirections?.entryPoint?.to;
    // `to` may also be a bare port (`:443`), as in Traefik.
    if (to !== undefined && !/^:\d{1,5}$/.test(to)) {
      if (to === name)
        fail(ctx, `entryPoints.${name}.http.redirections.entryPoint.to`, 'an entrypoint cannot redirect to itself');
      else needEntryPoint(c, ctx, `entryPoints.${name}.http.redirections.entryPoint.to`, to);
    }
    const resolver = ep.http?.tls?.certResolver;
    if (resolver !== undefined) needResolver(c, ctx, `entryPoints.${name}.http.tls.certResolver`, resolver);
  }
  if (c.ping && c.ping.manualRouting !== true && c.ping.entryPoint !== undefined)
    needEntryPoint(c, ctx, 'ping.entryPoint', c.ping.entryPoint);
  const prom = c.metrics?.prometheus;
  if (prom && prom.manualRouting !== true && prom.entryPoint !== undefined)
    needEntryPoint(c, ctx, 'metrics.prometheus.entryPoint', prom.entryPoint);
}

function checkResolvers(c: StaticConfig, ctx: WalkContext): void {
  for (const [name, { acme }] of Object.entries(c.certificatesResolvers)) {
    if (acme === undefined) continue; // already reported as required
    const path = `certificatesResolvers.${name}.acme`;
    if (!acme.dnsChallenge && !acme.httpChallenge && !acme.tlsChallenge) {
      fail(ctx, path, 'no challenge configured: set dnsChallenge, httpChallenge or tlsChallenge');
    }
    if (acme.httpChallenge) needEntryPoint(c, ctx, `${path}.httpChallenge.entryPoint`, acme.httpChallenge.entryPoint);
  }
}

function checkProviders(c: StaticConfig, ctx: WalkContext): void {
  const file = c.providers.file;
  if (file) {
    if (file.filename === undefined && file.directory === undefined)
      fail(ctx, 'providers.file', 'set filename or directory');
    else if (file.filename !== undefined && file.directory !== undefined) {
      ctx.diagnostics.push(
        diagWarning(
          ctx.source,
          'providers.file.filename',
          'ignored: directory is set and takes precedence, as in Traefik',
        ),
      );
    }
  }
}

function checkEdge(c: StaticConfig, ctx: WalkContext): void {
  const edge = c.edge;
  if (edge.certResolver !== undefined) needResolver(c, ctx, 'edge.certResolver', edge.certResolver);
  if (edge.dns) {
    if (edge.baseDomain === undefined) fail(ctx, 'edge.dns', 'needs edge.baseDomain (the zone the records go in)');
    if (edge.publicIPv4 === undefined && edge.publicIPv6 === undefined) {
      ctx.diagnostics.push(
        diagWarning(ctx.source, 'edge.dns', 'no edge.publicIPv4 or edge.publicIPv6: there is no address to publish'),
      );
    }
  }
  if (edge.webPort === edge.websecurePort)
    fail(ctx, 'edge.websecurePort', `same port as edge.webPort (${edge.webPort})`);
  if (edge.publicIPv4 === undefined && edge.publicIPv6 === undefined) return;
  const generatedTcp = new Set(tcpPorts({ ...edge, tcpPorts: [] }));
  edge.tcpPorts.forEach((p, i) => {
    if (p === edge.webPort || p === edge.websecurePort)
      fail(
        ctx,
        `edge.tcpPorts[${i}]`,
        `port ${p} is already the ${p === edge.webPort ? 'web' : 'websecure'} entrypoint's port`,
      );
  });
  for (const key of ['webPort', 'websecurePort'] as const) {
    if (generatedTcp.has(edge[key]))
      fail(ctx, `edge.${key}`, `port ${edge[key]} is also a preconfigured or dynamic TCP port`);
  }
}

/**
 * Two entrypoints cannot listen on the same port and protocol when their hosts overlap: the same
 * host, or a wildcard (`:80`, `[::]:80` cover every address; `0.0.0.0:80` every IPv4 one) next to
 * a specific address — the second bind would fail with EADDRINUSE. `reusePort` on both allows it.
 */
function checkAddresses(c: StaticConfig, ctx: WalkContext, api: Listener | undefined): void {
  const seen: [string, Listener][] = api && api.port !== 0 ? [['api.listen', api]] : [];
  for (const [name, ep] of Object.entries(c.entryPoints)) {
    if (ep.port === 0) continue;
    const clash = seen.find(
      ([, o]) =>
        o.port === ep.port &&
        o.protocol === ep.protocol &&
        !(o.reusePort && ep.reusePort) &&
        hostsOverlap(o.host, ep.host),
    );
    if (clash === undefined) {
      seen.push([name, ep]);
      continue;
    }
    const [other, o] = clash;
    const what =
      o.host === ep.host
        ? formatListenAddress(ep.host, ep.port, ep.protocol)
        : `${formatListenAddress(ep.host, ep.port, ep.protocol)} overlaps ${o.address}, which`;
    fail(
      ctx,
      `entryPoints.${name}.address`,
      `${what} is already used by ${other === 'api.listen' ? 'the API (api.listen)' : `entrypoint "${other}"`}`,
    );
  }
}

type Listener = Pick<EntryPointConfig, 'address' | 'host' | 'port' | 'protocol' | 'reusePort'>;

function hostsOverlap(a: string, b: string): boolean {
  if (a === b) return true;
  const kind = (h: string): 'any' | 'any4' | 4 | 6 | undefined =>
    h === '' || h === '::' ? 'any' : h === '0.0.0.0' ? 'any4' : isIPv4(h) ? 4 : isIPv6(h) ? 6 : undefined;
  const ka = kind(a);
  const kb = kind(b);
  if (ka === undefined || kb === undefined) return false;
  if (ka === 'any' || kb === 'any') return true;
  return (ka === 'any4' && kb === 4) || (kb === 'any4' && ka === 4);
}
