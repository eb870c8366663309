/**
 * Tier 2: one container's `traefik.*` labels → routers, services and middlewares, with Traefik's
 * defaults (pkg/provider/docker config.go, pkg/provider/configuration.go): a default service named
 * after the container's service name, a default router with the `defaultRule` template, the only
 * service assigned to routers that name none, and the container's address as the single server.
 */
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { boundAddress, containerAddress, defaultPort, joinHostPort, missingNetwork } from './address.ts';
import type { Element, Section } from './element.ts';
import type { ParsedElement, ParsedLabels, ParsedProtocol } from './parse.ts';
import { normalizeName, renderRuleTemplate } from './template.ts';
import type { ContainerView, LabelDecodeOptions } from './types.ts';

/** Traefik's `getServiceName`: `{service}_{project}` for compose containers, else the name; normalised. */
export function serviceNameOf(c: ContainerView): string {
  const project = c.composeProject ?? c.labels['com.docker.compose.project'];
  const service = c.composeService ?? c.labels['com.docker.compose.service'];
  if (project && service) return normalizeName(`${service}_${project}`);
  return normalizeName(c.name);
}

type Proto = 'http' | 'tcp' | 'udp';

class ContainerError extends Error {}

/** A problem with one service of the container: that service is dropped, the rest stays. */
class ServiceError extends Error {}

/**
 * Builds the elements of one container that is enabled and passed the constraints. A problem that
 * Traefik treats as fatal for the container (no port, no address) yields no elements at all.
 */
export function buildTraefikContainer(
  c: ContainerView,
  parsed: ParsedLabels,
  opts: LabelDecodeOptions,
  source: string,
): { elements: Element[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const healthy = c.health === 'none' || c.health === 'healthy';
  if (!healthy && !opts.allowEmptyServices) {
    if (c.health === 'unhealthy')
      diagnostics.push(
        diagWarning(source, undefined, 'container is unhealthy: its routes are withdrawn until its healthcheck passes'),
      );
    return { elements: [], diagnostics };
  }
  if (!c.running && !parsed.allowNonRunning) return { elements: [], diagnostics };
  const withServers = healthy && c.running;
  const serviceName = serviceNameOf(c);
  const network = parsed.network ?? opts.network;
  const elements: Element[] = [];

  let warnedNetwork = false;
  const addServer = (proto: Proto, name: string, lb: Record<string, unknown>): void => {
    const server = (lb['server'] ?? {}) as Record<string, unknown>;
    delete lb['server'];
    if (!withServers) return;
    if (proto === 'http' && typeof server['url'] === 'string') {
      // Traefik v3.7 lets a label name the server's whole URL (v3.0 refused it); port and scheme then do not apply.
      if (server['port'] !== undefined || server['scheme'] !== undefined) {
        throw new ServiceError(
          `loadbalancer.server.url cannot be combined with loadbalancer.server.port or .scheme; remove one of them`,
        );
      }
      const entry: Record<string, unknown> = { url: server['url'] };
      if (server['preservePath'] !== undefined) entry['preservePath'] = server['preservePath'];
      if (server['weight'] !== undefined) entry['weight'] = server['weight'];
      lb['servers'] = [entry];
      return;
    }
    const port = (server['port'] as number | undefined) ?? defaultPort(c);
    if (port === undefined) {
      throw new ContainerError(
        `service "${name}": port is missing; set traefik.${proto}.services.${name}.loadbalancer.server.port or expose a port`,
      );
    }
    let host: string | undefined;
    let usePort = port;
    if (opts.useBindPortIP) {
      const bound = boundAddress(c, port);
      if (bound) {
        host = bound.ip;
        usePort = bound.port;
      }
    }
    if (host === undefined && !warnedNetwork && missingNetwork(c, network)) {
      warnedNetwork = true;
      diagnostics.push(
        diagWarning(
          source,
          undefined,
          `the container is not on network "${network}" (traefik.docker.network or providers.docker.network); another of its networks is used. Is the compose project prefix missing (<project>_${network})?`,
        ),
      );
    }
    host ??= containerAddress(c, network, opts.ownNetworks?.[c.daemon]);
    if (host === undefined)
      throw new ContainerError(
        `unable to find the IP address of the container: attach it to a network or set traefik.docker.network`,
      );
    const entry: Record<string, unknown> = {};
    if (proto === 'http') {
      entry['url'] = `${(server['scheme'] as string | undefined) ?? 'http'}://${joinHostPort(host, usePort)}`;
      if (server['preservePath'] !== undefined) entry['preservePath'] = server['preservePath'];
    } else {
      entry['address'] = joinHostPort(host, usePort);
      if (proto === 'tcp' && server['tls'] !== undefined) entry['tls'] = server['tls'];
    }
    if (server['weight'] !== undefined) entry['weight'] = server['weight'];
    lb['servers'] = [entry];
  };

  const take = (_proto: Proto, map: Map<string, ParsedElement>): Map<string, Record<string, unknown>> => {
    const out = new Map<string, Record<string, unknown>>();
    for (const [name, p] of map) out.set(name, structuredClone(p.value));
    return out;
  };

  const dropped = new Set<string>();
  const noteErrors = (proto: Proto, kind: string, map: Map<string, ParsedElement>): void => {
    for (const [name, p] of map) {
      if (p.errors.length > 0) {
        diagnostics.push(...p.errors);
        dropped.add(`${proto}.${kind}:${name}`);
      }
    }
  };
  for (const proto of ['http', 'tcp', 'udp'] as const) {
    const pp: ParsedProtocol = parsed[proto];
    noteErrors(proto, 'routers', pp.routers);
    noteErrors(proto, 'services', pp.services);
    noteErrors(proto, 'middlewares', pp.middlewares);
    noteErrors(proto, 'serversTransports', pp.serversTransports);
  }

  const buildServices = (proto: Proto, pp: ParsedProtocol): Map<string, Record<string, unknown>> => {
    const services = take(proto, pp.services);
    if (services.size === 0) services.set(serviceName, { loadBalancer: {} });
    for (const [name, svc] of services) {
      if (dropped.has(`${proto}.services:${name}`)) continue;
      const lb = svc['loadBalancer'] as Record<string, unknown> | undefined;
      try {
        if (lb === undefined) {
          // Services of other kinds (weighted, failover, mirroring) are kept; an empty one is Traefik's error.
          if (Object.keys(svc).length === 0)
            throw new ServiceError(
              'the service has no load balancer; set traefik.<protocol>.services.<name>.loadbalancer.server.port (or another loadbalancer key)',
            );
          continue;
        }
        if (proto === 'http') lb['passHostHeader'] ??= true;
        addServer(proto, name, lb);
      } catch (err) {
        if (!(err instanceof ServiceError)) throw err;
        diagnostics.push(diagError(source, `${proto}.services.${name}`, `${err.message}; service dropped`));
        dropped.add(`${proto}.services:${name}`);
      }
    }
    return services;
  };

  const assignService = (
    proto: Proto,
    routerName: string,
    router: Record<string, unknown>,
    services: Map<string, unknown>,
  ): boolean => {
    if (router['service'] === undefined || router['service'] === '') {
      if (services.size > 1) {
        diagnostics.push(
          diagError(
            source,
            `${proto}.routers.${routerName}`,
            `could not define the service name for the router: the container defines several services (${[...services.keys()].join(', ')}); set traefik.${proto}.routers.${routerName}.service`,
          ),
        );
        return false;
      }
      router['service'] = [...services.keys()][0];
    }
    // A service of this container that could not be built takes its routers with it, as Traefik
    // drops the whole container then.
    if (typeof router['service'] === 'string' && dropped.has(`${proto}.services:${router['service']}`)) {
      diagnostics.push(
        diagError(
          source,
          `${proto}.routers.${routerName}`,
          `its service "${router['service']}" was dropped (see above); router dropped`,
        ),
      );
      return false;
    }
    return true;
  };

  const emit = (section: Section, map: Map<string, Record<string, unknown>>, key: string): void => {
    for (const name of [...map.keys()].sort()) {
      if (dropped.has(`${key}:${name}`)) continue;
      elements.push({ section, name, value: map.get(name) ?? {} });
    }
  };

  try {
    let tcpOrUdp = false;
    const pending: Array<() => void> = [];
    if (parsed.tcp.routers.size > 0 || parsed.tcp.services.size > 0) {
      tcpOrUdp = true;
      const services = buildServices('tcp', parsed.tcp);
      const routers = take('tcp', parsed.tcp.routers);
      for (const [name, r] of routers) {
        if (dropped.has(`tcp.routers:${name}`)) continue;
        if (typeof r['rule'] !== 'string' || r['rule'] === '') {
          diagnostics.push(
            diagError(
              source,
              `tcp.routers.${name}`,
              `empty rule: set traefik.tcp.routers.${name}.rule, e.g. HostSNI(\`*\`)`,
            ),
          );
          dropped.add(`tcp.routers:${name}`);
          continue;
        }
        if (!assignService('tcp', name, r, services)) dropped.add(`tcp.routers:${name}`);
      }
      pending.push(() => {
        emit('tcp.routers', routers, 'tcp.routers');
        emit('tcp.services', services, 'tcp.services');
      });
    }
    if (parsed.udp.routers.size > 0 || parsed.udp.services.size > 0) {
      tcpOrUdp = true;
      const services = buildServices('udp', parsed.udp);
      const routers = take('udp', parsed.udp.routers);
      for (const [name, r] of routers) {
        if (dropped.has(`udp.routers:${name}`)) continue;
        if (!assignService('udp', name, r, services)) dropped.add(`udp.routers:${name}`);
      }
      pending.push(() => {
        emit('udp.routers', routers, 'udp.routers');
        emit('udp.services', services, 'udp.services');
      });
    }
    emit('tcp.middlewares', take('tcp', parsed.tcp.middlewares), 'tcp.middlewares');
    emit('tcp.serversTransports', take('tcp', parsed.tcp.serversTransports), 'tcp.serversTransports');
    const http = parsed.http;
    const httpEmpty = http.routers.size === 0 && http.services.size === 0 && http.middlewares.size === 0;
    if (!(tcpOrUdp && httpEmpty)) {
      const services = buildServices('http', http);
      const routers = take('http', http.routers);
      if (routers.size === 0) {
        if (services.size > 1) {
          diagnostics.push(
            diagWarning(
              source,
              undefined,
              `no default router created: the container defines several services (${[...services.keys()].join(', ')}); define routers with traefik.http.routers.<name>.service`,
            ),
          );
        } else {
          routers.set(serviceName, {});
        }
      }
      for (const [name, r] of routers) {
        if (dropped.has(`http.routers:${name}`)) continue;
        if (typeof r['rule'] !== 'string' || r['rule'] === '') {
          const rendered = renderRuleTemplate(opts.defaultRule, {
            Name: serviceName,
            ContainerName: c.name,
            Labels: c.labels,
          });
          if ('error' in rendered || rendered.value === '') {
            diagnostics.push(
              diagError(
                source,
                `http.routers.${name}`,
                'error' in rendered
                  ? `default rule template: ${rendered.error}`
                  : 'undefined rule: the default rule template rendered nothing',
              ),
            );
            dropped.add(`http.routers:${name}`);
            continue;
          }
          r['rule'] = rendered.value;
        }
        if (!assignService('http', name, r, services)) dropped.add(`http.routers:${name}`);
      }
      emit('http.routers', routers, 'http.routers');
      emit('http.services', services, 'http.services');
    }
    emit('http.middlewares', take('http', http.middlewares), 'http.middlewares');
    emit('http.serversTransports', take('http', http.serversTransports), 'http.serversTransports');
    for (const p of pending) p();
  } catch (err) {
    if (!(err instanceof ContainerError)) throw err;
    diagnostics.push(diagError(source, undefined, `${err.message}; the container is not routed`));
    return { elements: [], diagnostics };
  }
  return { elements: validateMiddlewares(elements, source, diagnostics), diagnostics };
}

/** A middleware must name exactly one type (`headers`, `buffering`, …). */
function validateMiddlewares(elements: Element[], source: string, diagnostics: Diagnostic[]): Element[] {
  return elements.filter((e) => {
    if (e.section !== 'http.middlewares' && e.section !== 'tcp.middlewares') return true;
    const types = Object.keys(e.value);
    if (types.length === 1) return true;
    diagnostics.push(
      diagError(
        source,
        `${e.section}.${e.name}`,
        types.length === 0
          ? 'middleware has no type'
          : `middleware defines several types (${types.join(', ')}); use one middleware per type`,
      ),
    );
    return false;
  });
}
