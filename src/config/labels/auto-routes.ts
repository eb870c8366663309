/**
 * Tier 1: containers that carry only `rediacc.*` labels get an automatic route
 * `{service}.{repo}.{machine}.{base}` (forks — `rediacc.is_fork=true` with `rediacc.fork_tag`, or
 * `rediacc.repo_name=parent:tag` — `{service}-fork-{tag}.{repo}.{machine}.{base}`), and
 * `rediacc.domain` adds custom-domain routes. With an edge certificate resolver the routes are TLS
 * with the repository's wildcard (forks reuse the parent's) or the machine/base wildcard. The other
 * ports of `rediacc.tcp_ports` / `udp_ports` get dynamic public ports (`auto-ports.ts`).
 */
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { containerAddress, joinHostPort } from './address.ts';
import { buildAutoPorts, labelPorts } from './auto-ports.ts';
import type { Element } from './element.ts';
import { hostileReason, parseBool, parseInteger } from './values.ts';
import type { ContainerView, LabelDecodeOptions } from './types.ts';

/** True when the container is managed by rediacc (it has a service name label). */
export function isRediaccContainer(c: ContainerView): boolean {
  return (c.labels['rediacc.service_name'] ?? '').trim() !== '';
}

/** The repository a container belongs to (the parent's name for forks), if labelled. */
export function repositoryOf(c: ContainerView): string | undefined {
  const raw = (c.labels['rediacc.repo_name'] ?? '').trim();
  if (raw === '') return undefined;
  const parent = raw.split(':')[0]?.trim() ?? '';
  return parent === '' ? undefined : parent;
}

/** Lower-case, and anything that cannot be in a DNS label becomes `-`. */
function dnsLabel(s: string): string {
  return s
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
}

/**
 * Backend port of the HTTP route: `rediacc.service_port`, else the only port of `rediacc.tcp_ports`,
 * else 80 when it lists none. Several ports and no `service_port` is an error, never a guess.
 */
export function autoRoutePort(c: ContainerView): { port: number } | { error: string; label: string } {
  const sp = c.labels['rediacc.service_port'];
  if (sp !== undefined && sp.trim() !== '') {
    const n = parseInteger(sp);
    if (n === undefined || n < 1 || n > 65535)
      return {
        label: 'rediacc.service_port',
        error: `invalid value "${sp.slice(0, 60)}": expected a port from 1 to 65535`,
      };
    return { port: n };
  }
  const tcp = labelPorts(c, 'rediacc.tcp_ports', '');
  if (tcp.length === 1) return { port: tcp[0]! };
  if (tcp.length > 1)
    return {
      label: 'rediacc.tcp_ports',
      error: `cannot tell which of the ports ${tcp.join(', ')} serves HTTP: set rediacc.service_port`,
    };
  return { port: 80 };
}

/** Builds the auto-routes of one rediacc container that has no `traefik.enable=true`. */
export function buildAutoRoutes(
  c: ContainerView,
  opts: LabelDecodeOptions,
  source: string,
): { elements: Element[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const none = { elements: [], diagnostics };
  const base = opts.edge.baseDomain?.toLowerCase().replace(/\.$/, '');
  if (!opts.edge.autoRoutes || !base) return none;
  if (!(c.health === 'none' || c.health === 'healthy') || !c.running) return none;
  for (const [k, v] of Object.entries(c.labels)) {
    if (!k.startsWith('rediacc.')) continue;
    const problem = hostileReason(v);
    if (problem !== undefined) {
      diagnostics.push(diagError(source, `label ${k}`, `value ${problem}; no auto-route`));
      return none;
    }
  }
  const service = dnsLabel(c.labels['rediacc.service_name'] ?? '');
  const repoRaw = (c.labels['rediacc.repo_name'] ?? '').trim();
  const repo = dnsLabel(repositoryOf(c) ?? '');
  if (service === '' || repo === '') {
    diagnostics.push(
      diagWarning(
        source,
        'label rediacc.repo_name',
        'no auto-route: the container has rediacc.service_name but no usable rediacc.repo_name',
      ),
    );
    return none;
  }
  let prefix = service;
  // `repo:tag` alone marks a fork as much as `is_fork=true`: without the `-fork-{tag}` prefix it
  // would ask for the parent's own host.
  const repoTag = repoRaw.includes(':') ? repoRaw.slice(repoRaw.indexOf(':') + 1).trim() : '';
  const isFork = parseBool(c.labels['rediacc.is_fork'] ?? '') === true || repoTag !== '';
  if (isFork) {
    const tag = dnsLabel((c.labels['rediacc.fork_tag'] ?? '').trim() || repoTag);
    if (tag === '') {
      diagnostics.push(
        diagWarning(
          source,
          'label rediacc.fork_tag',
          'no auto-route: a fork needs rediacc.fork_tag (or rediacc.repo_name=parent:tag)',
        ),
      );
      return none;
    }
    prefix = `${service}-fork-${tag}`;
  }
  const portR = autoRoutePort(c);
  const ip = containerAddress(c, opts.network, opts.ownNetworks?.[c.daemon]);
  if (ip === undefined) {
    diagnostics.push(
      diagError(
        source,
        undefined,
        'no auto-route: unable to find the IP address of the container (set rediacc.service_ip or attach it to a network)',
      ),
    );
    return none;
  }
  const elements = buildAutoPorts(
    c,
    `${prefix}-${repo}`,
    ip,
    'port' in portR ? portR.port : undefined,
    source,
    diagnostics,
  );
  if ('error' in portR) {
    diagnostics.push(diagError(source, `label ${portR.label}`, `${portR.error}; no HTTP auto-route`));
    return { elements, diagnostics };
  }
  const machine = opts.edge.machineName ? dnsLabel(opts.edge.machineName) : undefined;
  const zone = machine ? `${repo}.${machine}.${base}` : `${repo}.${base}`;
  const name = `${prefix}-${repo}-auto`;
  elements.push({
    section: 'http.services',
    name,
    value: { loadBalancer: { servers: [{ url: `http://${joinHostPort(ip, portR.port)}` }], passHostHeader: true } },
  });
  const route = (routerName: string, host: string, wildcard: string): void => {
    const value: Record<string, unknown> = { rule: `Host(\`${host}\`)`, service: name };
    if (opts.edge.certResolver) value['tls'] = { certResolver: opts.edge.certResolver, domains: [{ main: wildcard }] };
    elements.push({ section: 'http.routers', name: routerName, value });
  };
  route(name, `${prefix}.${zone}`, `*.${zone}`);

  const domain = (c.labels['rediacc.domain'] ?? '').trim().toLowerCase().replace(/\.$/, '');
  if (domain !== '' && !isFork) {
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*$/.test(domain)) {
      diagnostics.push(
        diagError(
          source,
          'label rediacc.domain',
          `invalid domain "${domain.slice(0, 80)}"; custom domain route not created`,
        ),
      );
    } else {
      const full = domain.includes('.') ? domain : `${domain}.${base}`;
      const sub = full.endsWith(`.${base}`) ? full.slice(0, -(base.length + 1)) : undefined;
      const single = sub !== undefined && !sub.includes('.');
      route(`${prefix}-${repo}-domain`, full, single ? `*.${base}` : full);
      if (machine && sub !== undefined) {
        const machineHost = `${sub}.${machine}.${base}`;
        route(`${prefix}-${repo}-domain-machine`, machineHost, single ? `*.${machine}.${base}` : machineHost);
      }
    }
  }
  return { elements, diagnostics };
}
