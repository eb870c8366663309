import { createHash } from 'node:crypto';
import type { DynamicConfig, HttpRouter } from '../config/dynamic/types.ts';
import { diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import type { Provider, ProviderSink } from '../providers/provider.ts';
import type { FleetClaims } from './fleet-claims.ts';
import type { FleetPorts } from './fleet-ports.ts';

/**
 * Marks a request relayed by a fleet host. A host never relays a request that carries it, so two
 * hosts that disagree for a moment about who holds a name cannot bounce a request between them.
 */
export const RELAY_HEADER = 'X-Berth-Relay';

/** Host names a relay router may be written for: nothing that could break out of the rule. */
const HOST = /^[a-z0-9]([a-z0-9.-]*[a-z0-9])?$/;

/**
 * What the fleet adds to this host's configuration (`name@fleet`): for every host name a container
 * on another fleet host holds, a router that relays its requests to that host's `fleet.relayUrl`
 * with the entrypoints and TLS settings of the owner's routers (so the name is served — and its
 * certificate used — here as well); and the reports of what the fleet decided against this host
 * (ports that moved to the fleet's answer).
 */
export class FleetProvider implements Provider {
  readonly name = 'fleet';
  private readonly node: string;
  private readonly claims: () => FleetClaims | undefined;
  private readonly ports: () => FleetPorts | undefined;
  private sink: ProviderSink | undefined;
  private last = '';

  constructor(node: string, claims: () => FleetClaims | undefined, ports: () => FleetPorts | undefined) {
    this.node = node;
    this.claims = claims;
    this.ports = ports;
  }

  async start(sink: ProviderSink): Promise<void> {
    this.sink = sink;
    // The first configuration has the relays: the Docker provider loads the fleet's claims as it starts.
    await this.claims()?.loaded;
    this.claims()?.onChange(() => this.publish());
    this.ports()?.onChange(() => this.publish());
    this.publish(true);
  }

  async stop(): Promise<void> {
    this.sink = undefined;
  }

  private publish(force = false): void {
    if (!this.sink) return;
    const { config, diagnostics } = this.build();
    const key = JSON.stringify([config, diagnostics]);
    if (!force && key === this.last) return;
    this.last = key;
    this.sink.publish(config, diagnostics);
    const relayed = Object.keys(config.http?.routers ?? {}).length;
    this.sink.status({ status: 'ok', lastUpdate: Date.now(), details: { node: this.node, relayed } });
  }

  private build(): { config: DynamicConfig; diagnostics: Diagnostic[] } {
    const diagnostics: Diagnostic[] = [...(this.ports()?.diagnostics() ?? [])];
    const claims = this.claims();
    if (claims === undefined) return { config: {}, diagnostics };
    const relays = claims.relays();
    const routers: Record<string, HttpRouter> = {};
    const services: Record<string, { loadBalancer: { servers: { url: string }[]; passHostHeader: boolean } }> = {};
    const unrelayed = new Map<string, number>();
    for (const c of claims.others()) {
      const host = c.key.startsWith('host ') ? c.key.slice(5) : '';
      if (c.route === undefined || !HOST.test(host)) continue; // a TCP router's name, or not a name: not relayed
      const url = relays.get(c.node);
      if (url === undefined) {
        unrelayed.set(c.node, (unrelayed.get(c.node) ?? 0) + 1);
        continue;
      }
      const service = `relay-${c.node}`;
      services[service] = { loadBalancer: { servers: [{ url }], passHostHeader: true } };
      routers[
        `relay-${host.replace(/[^a-z0-9]+/g, '-')}-${createHash('sha256').update(host).digest('hex').slice(0, 6)}`
      ] = {
        rule: `Host(\`${host}\`) && !HeaderRegexp(\`${RELAY_HEADER}\`, \`.\`)`,
        service,
        middlewares: ['relay-mark'],
        ...(c.route.entryPoints !== undefined ? { entryPoints: [...c.route.entryPoints] } : {}),
        ...(c.route.tls !== undefined ? { tls: c.route.tls } : {}),
      };
    }
    for (const [node, n] of unrelayed) {
      diagnostics.push(
        diagWarning(
          `fleet node ${node}`,
          'fleet.relayUrl',
          `${n} host name${n === 1 ? '' : 's'} belong${n === 1 ? 's' : ''} to containers on fleet node ${node}, which sets no fleet.relayUrl: not served here`,
        ),
      );
    }
    if (Object.keys(routers).length === 0) return { config: {}, diagnostics };
    return {
      config: {
        http: {
          routers,
          services,
          middlewares: { 'relay-mark': { headers: { customRequestHeaders: { [RELAY_HEADER]: this.node } } } },
        },
      },
      diagnostics,
    };
  }
}
