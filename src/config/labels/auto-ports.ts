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

/**
 * Most public ports one container's label gets: a hostile or mistaken label (up to 64 KiB of ports)
 * must not take the whole of `edge.dynamicPorts` from every other repository.
 */
export const MAX_PORTS_PER_LABEL = 32;

/** The ports of a `rediacc.tcp_ports` / `rediacc.udp_ports` label; entries that are not ports are reported once. */
export function labelPorts(
  c: ContainerView,
  label: 'rediacc.tcp_ports' | 'rediacc.udp_ports',
  source: string,
  diagnostics?: Diagnostic[],
): number[] {
  const out: number[] = [];
  const bad: string[] = [];
  for (const raw of splitList(c.labels[label] ?? '')) {
    const n = parseInteger(raw);
    if (n !== undefined && n >= 1 && n <= 65535) {
      if (!out.includes(n)) out.push(n);
    } else bad.push(raw);
  }
  if (bad.length > 0) {
    const shown = bad
      .slice(0, 3)
      .map((b) => `"${b.slice(0, 40)}"`)
      .join(', ');
    diagnostics?.push(
      diagWarning(
        source,
        `label ${label}`,
        `${shown}${bad.length > 3 ? ` and ${bad.length - 3} more` : ''} ${bad.length === 1 ? 'is not a port' : 'are not ports'} (1-65535); ignored`,
      ),
    );
  }
  return out;
}

/**
 * The L4 routes of one auto-routed service: `name` is its auto-route prefix (`{service}-{repo}`),
 * `ip` its address, `httpPort` the port its HTTP route uses (undefined when it has none).
 */
export function buildAutoPorts(
  c: ContainerView,
  name: string,
  ip: string,
  httpPort: number | undefined,
  source: string,
  diagnostics: Diagnostic[],
): Element[] {
  const elements: Element[] = [];
  for (const protocol of ['tcp', 'udp'] as const) {
    const label = `rediacc.${protocol}_ports` as const;
    const ports = labelPorts(c, label, source, diagnostics).filter((p) => protocol === 'udp' || p !== httpPort);
    if (ports.length > MAX_PORTS_PER_LABEL) {
      diagnostics.push(
        diagWarning(
          source,
          `label ${label}`,
          `${ports.length} ports: only the first ${MAX_PORTS_PER_LABEL} get a public port from edge.dynamicPorts; ${ports.slice(MAX_PORTS_PER_LABEL, MAX_PORTS_PER_LABEL + 3).join(', ')}${ports.length > MAX_PORTS_PER_LABEL + 3 ? ', …' : ''} left out`,
        ),
      );
    }
    for (const port of ports.slice(0, MAX_PORTS_PER_LABEL)) {
      const id = `${name}-${protocol}-${port}`;
      const router: Record<string, unknown> =
        protocol === 'tcp'
          ? { entryPoints: ['tcp-dynamic'], rule: 'HostSNI(`*`)', service: id }
          : { entryPoints: ['udp-dynamic'], service: id };
      elements.push({ section: `${protocol}.routers`, name: id, value: router });
      elements.push({
        section: `${protocol}.services`,
        name: id,
        value: { loadBalancer: { servers: [{ address: joinHostPort(ip, port) }] } },
      });
    }
  }
  return elements;
}
