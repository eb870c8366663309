/**
 * Tier 1, L4: every port of a rediacc service's `rediacc.tcp_ports` / `rediacc.udp_ports` other than
 * its HTTP port is published on a port of its own from `edge.dynamicPorts` — a router on
 * `tcp-dynamic` / `udp-dynamic`, whose name (`{service}-{repo}-tcp-{port}`) keeps the allocation
 * stable across restarts — forwarding to `service_ip:port`.
 */
import { diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { joinHostPort } from './address.ts';
import type { Element } from './element.ts';
import { parseInteger, splitList } from './values.ts';
import type { ContainerView } from './types.ts';

/** The ports of a `rediacc.tcp_ports` / `rediacc.udp_ports` label; entries that are not ports are reported. */
export function labelPorts(c: ContainerView, label: 'rediacc.tcp_ports' | 'rediacc.udp_ports', source: string, diagnostics?: Diagnostic[]): number[] {
  const out: number[] = [];
  for (const raw of splitList(c.labels[label] ?? '')) {
    const n = parseInteger(raw);
    if (n !== undefined && n >= 1 && n <= 65535) {
      if (!out.includes(n)) out.push(n);
    } else diagnostics?.push(diagWarning(source, `label ${label}`, `"${raw.slice(0, 40)}" is not a port (1-65535); ignored`));
  }
  return out;
}

/**
 * The L4 routes of one auto-routed service: `name` is its auto-route prefix (`{service}-{repo}`),
 * `ip` its address, `httpPort` the port its HTTP route uses (undefined when it has none).
 */
export function buildAutoPorts(c: ContainerView, name: string, ip: string, httpPort: number | undefined, source: string, diagnostics: Diagnostic[]): Element[] {
  const elements: Element[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    for (const port of labelPorts(c, `rediacc.${protocol}_ports`, source, diagnostics)) {
      if (protocol === 'tcp' && port === httpPort) continue;
      const id = `${name}-${protocol}-${port}`;
      const router: Record<string, unknown> = protocol === 'tcp'
        ? { entryPoints: ['tcp-dynamic'], rule: 'HostSNI(`*`)', service: id }
        : { entryPoints: ['udp-dynamic'], service: id };
      elements.push({ section: `${protocol}.routers`, name: id, value: router });
      elements.push({ section: `${protocol}.services`, name: id, value: { loadBalancer: { servers: [{ address: joinHostPort(ip, port) }] } } });
    }
  }
  return elements;
}
