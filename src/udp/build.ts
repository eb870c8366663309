import type { DynamicConfig, UdpService } from '../config/dynamic/types.ts';
import type { EntryPointConfig } from '../config/static/types.ts';
import { diagError, diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import type { ElementStatus } from '../model/element-status.ts';
import { providerOf, qualify } from '../model/qualified-name.ts';
import { parseHostPort } from '../tcp/address.ts';
import { WeightedRoundRobin } from '../lib/weighted-round-robin.ts';
import type { L4BuildEnv, L4BuildResult } from '../tcp/build.ts';
import { attachEntrypoints } from '../tcp/entrypoint-attach.ts';
import type { UdpEntrypointRouting, UdpServerTarget } from './routing.ts';

interface BuiltUdpService {
  readonly servers: readonly UdpServerTarget[];
  pick(): UdpServerTarget | undefined;
}

/**
 * Builds UDP routing for every UDP entrypoint. UDP routers have no rule; as in Traefik, one router
 * serves an entrypoint: when several claim the same one, the first by name keeps it and the others
 * get an error for that entrypoint. Broken routers and services are dropped alone.
 */
export function buildUdpRouting(
  config: DynamicConfig,
  entrypoints: Record<string, EntryPointConfig>,
  env: L4BuildEnv,
): L4BuildResult<UdpEntrypointRouting> {
  const diagnostics: Diagnostic[] = [];
  const elements: ElementStatus[] = [];
  const extraEntrypoints: Record<string, EntryPointConfig> = {};
  const defs = config.udp?.services ?? {};
  const built = new Map<string, BuiltUdpService | string>();
  const build = (name: string, stack: string[]): BuiltUdpService | string => {
    const done = built.get(name);
    if (done !== undefined) return done;
    const def = defs[name];
    const res = !def
      ? `unknown service "${name}"`
      : stack.includes(name) || stack.length > 10
        ? `service "${name}" refers to itself through ${stack.join(' → ')}`
        : buildService(name, def, (c) => build(c, [...stack, name]));
    built.set(name, res);
    return res;
  };
  for (const name of Object.keys(defs)) {
    const res = build(name, []);
    if (typeof res === 'string')
      diagnostics.push(diagError(`provider ${providerOf(name)}`, `udp.services.${name}`, res));
    elements.push({
      name,
      kind: 'udp-service',
      status: typeof res === 'string' ? 'disabled' : 'enabled',
      errors: typeof res === 'string' ? [res] : [],
    });
  }

  const routing = new Map<string, UdpEntrypointRouting>();
  for (const name of Object.keys(config.udp?.routers ?? {}).sort()) {
    const def = config.udp!.routers![name]!;
    const source = `provider ${providerOf(name)}`;
    const element = `udp.routers.${name}`;
    const errors: string[] = [];
    const warnings: string[] = [];
    const svc =
      typeof def?.service === 'string'
        ? (built.get(def.service) ?? `unknown service "${def.service}"`)
        : 'service is missing';
    if (typeof svc === 'string')
      errors.push(
        svc.startsWith('unknown') || svc === 'service is missing' ? svc : `service "${def.service}" is broken: ${svc}`,
      );
    else {
      const att = attachEntrypoints(name, def.entryPoints, 'udp', entrypoints, env.allocator, extraEntrypoints);
      warnings.push(...att.warnings);
      if (att.error) errors.push(att.error);
      for (const ep of att.entrypoints) {
        const owner = routing.get(ep);
        if (owner) {
          warnings.push(
            `entryPoint "${ep}" is already served by UDP router "${owner.router}"; one UDP router per entrypoint`,
          );
          continue;
        }
        routing.set(ep, { entrypoint: ep, router: name, service: def.service, servers: svc.servers, pick: svc.pick });
      }
      if (!att.error && att.entrypoints.every((ep) => routing.get(ep)?.router !== name))
        errors.push('every entrypoint of this router is served by another UDP router');
    }
    for (const e of errors) diagnostics.push(diagError(source, element, e));
    if (errors.length === 0) for (const w of warnings) diagnostics.push(diagWarning(source, element, w));
    elements.push({
      name,
      kind: 'udp-router',
      status: errors.length > 0 ? 'disabled' : warnings.length > 0 ? 'warning' : 'enabled',
      errors: errors.length > 0 ? errors : warnings,
    });
  }
  return { routing, diagnostics, elements, extraEntrypoints };
}

function buildService(
  name: string,
  def: UdpService,
  child: (name: string) => BuiltUdpService | string,
): BuiltUdpService | string {
  if (def.loadBalancer && def.weighted) return 'a service has either loadBalancer or weighted, not both';
  if (def.weighted) {
    const items: { item: BuiltUdpService; weight: number }[] = [];
    for (const ref of def.weighted.services ?? []) {
      const q = qualify(ref.name, providerOf(name));
      const c = child(q);
      if (typeof c === 'string') return `weighted child "${q}": ${c}`;
      items.push({ item: c, weight: ref.weight ?? 1 });
    }
    if (items.length === 0) return 'weighted service without services';
    const wrr = new WeightedRoundRobin(items);
    return { servers: items.flatMap((i) => i.item.servers), pick: () => wrr.next()?.pick() };
  }
  if (!def.loadBalancer) return 'service has neither loadBalancer nor weighted';
  const items: { item: UdpServerTarget; weight: number }[] = [];
  for (const [i, s] of (def.loadBalancer.servers ?? []).entries()) {
    const hp = typeof s?.address === 'string' ? parseHostPort(s.address) : undefined;
    if (!hp) return `loadBalancer.servers[${i}].address ${JSON.stringify(s?.address)} is not host:port`;
    items.push({ item: { address: s.address, host: hp.host, port: hp.port }, weight: s.weight ?? 1 });
  }
  if (items.length === 0) return 'loadBalancer has no servers';
  const wrr = new WeightedRoundRobin(items);
  return { servers: items.map((i) => i.item), pick: () => wrr.next() };
}
