import type { EntryPointConfig } from '../config/static/types.ts';
import type { PortAllocator } from './port-allocator.ts';

/** The pseudo-entrypoints whose routers get a port from `edge.dynamicPorts`. */
export const DYNAMIC_ENTRYPOINT = { tcp: 'tcp-dynamic', udp: 'udp-dynamic' } as const;

/** Where one L4 router attaches, with the problems found on the way. */
export interface AttachResult {
  readonly entrypoints: string[];
  readonly warnings: string[];
  /** Set when the router ends up on no entrypoint at all. */
  readonly error?: string;
}

/**
 * Resolves a TCP/UDP router's `entryPoints`: its own list, else every entrypoint of that protocol
 * (or the `asDefault` ones, as in Traefik). `tcp-dynamic` / `udp-dynamic` become `tcp-<port>` /
 * `udp-<port>` with a port from the allocator; such an entrypoint missing from the static config
 * is added to `extra` (bound like the generated ones) for the entrypoint manager to open.
 */
export function attachEntrypoints(
  routerName: string,
  requested: readonly string[] | undefined,
  protocol: 'tcp' | 'udp',
  entrypoints: Record<string, EntryPointConfig>,
  allocator: Pick<PortAllocator, 'assign'> | undefined,
  extra: Record<string, EntryPointConfig>,
): AttachResult {
  const warnings: string[] = [];
  let names: string[];
  if (requested && requested.length > 0) names = [...new Set(requested)];
  else {
    // Entrypoints opened on demand belong to the routers that asked for them.
    const all = Object.entries(entrypoints).filter(([, e]) => e.protocol === protocol && e.onDemand !== true);
    const defaults = all.filter(([, e]) => e.asDefault);
    names = (defaults.length > 0 ? defaults : all).map(([n]) => n);
  }
  const out: string[] = [];
  for (const name of names) {
    if (name === DYNAMIC_ENTRYPOINT[protocol]) {
      if (!allocator) {
        warnings.push(`entryPoint "${name}" needs edge.dynamicPorts and edge.stateDir`);
        continue;
      }
      const a = allocator.assign(routerName, protocol);
      if ('error' in a) {
        warnings.push(a.error);
        continue;
      }
      const generated = `${protocol}-${a.port}`;
      if (!entrypoints[generated] && !extra[generated]) {
        extra[generated] = {
          address: `:${a.port}${protocol === 'udp' ? '/udp' : ''}`,
          host: '',
          port: a.port,
          protocol,
          generated: true,
        };
      }
      out.push(generated);
      continue;
    }
    const ep = entrypoints[name];
    if (!ep) {
      warnings.push(`entryPoint "${name}" does not exist`);
      continue;
    }
    if (ep.protocol !== protocol) {
      warnings.push(`entryPoint "${name}" is ${ep.protocol.toUpperCase()}, not ${protocol.toUpperCase()}`);
      continue;
    }
    out.push(name);
  }
  if (out.length === 0) {
    return {
      entrypoints: out,
      warnings,
      error:
        names.length === 0
          ? `no ${protocol.toUpperCase()} entrypoint to attach to`
          : `no usable entrypoint: ${warnings.join('; ')}`,
    };
  }
  return { entrypoints: out, warnings };
}
