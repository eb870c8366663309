import { join } from 'node:path';
import type { StaticConfig } from './config/static/types.ts';
import { durationOr } from './lib/duration.ts';
import type { Logger } from './lib/logger.ts';
import type { BackgroundPart, BerthParts } from './app.ts';
import type { HostIdentity } from './dns/records-manager.ts';
import type { Provider } from './providers/provider.ts';
import { FileProvider } from './providers/file/file-provider.ts';
import { InternalProvider } from './providers/internal-provider.ts';
import { middlewareFactories } from './http/middlewares/registry.ts';
import { FileClaimStore } from './providers/docker/claim-store.ts';
import { PortAllocator } from './tcp/port-allocator.ts';

/** The host's identity for DNS records, from `edge`; undefined when DNS automation does not apply. */
function dnsIdentity(config: StaticConfig): HostIdentity | undefined {
  const edge = config.edge;
  if (
    edge.dns?.provider !== 'cloudflare' ||
    !edge.baseDomain ||
    !edge.machineName ||
    (!edge.publicIPv4 && !edge.publicIPv6)
  )
    return undefined;
  return {
    machineName: edge.machineName,
    baseDomain: edge.baseDomain,
    ...(edge.publicIPv4 ? { publicIPv4: edge.publicIPv4 } : {}),
    ...(edge.publicIPv6 ? { publicIPv6: edge.publicIPv6 } : {}),
  };
}

/**
 * DNS automation (SPEC §7): host records at start, a wildcard per repository when its first
 * container appears, retried with backoff until they are in place, updated when the public address
 * changes (SIGHUP). Routing never waits on DNS.
 */
async function dnsAutomation(
  config: StaticConfig,
  log: Logger,
): Promise<(BackgroundPart & { setRepositories(repos: readonly string[]): void }) | undefined> {
  const identity = dnsIdentity(config);
  const dns = config.edge.dns;
  if (identity === undefined || dns === undefined) return undefined;
  const { CloudflareDns } = await import('./dns/cloudflare.ts');
  const { DnsAutomation } = await import('./dns/dns-automation.ts');
  const automation = new DnsAutomation({
    provider: () => new CloudflareDns(),
    identity,
    logger: log,
    ...(dns.ttl !== undefined ? { ttl: dns.ttl } : {}),
    ...(dns.proxied !== undefined ? { proxied: dns.proxied } : {}),
  });
  automation.start();
  return {
    name: automation.name,
    state: () => automation.state(),
    diagnostics: () => automation.diagnostics(),
    stop: () => automation.stop(),
    reconfigure: (next) => {
      const id = dnsIdentity(next);
      if (id !== undefined) automation.setIdentity(id);
    },
    setRepositories: (repos) => automation.setRepositories(repos),
  };
}

/**
 * The standard set of providers and middlewares for a static configuration. Heavy clients
 * (dockerode, undici's provider, the Cloudflare SDK, ioredis for a fleet) are loaded only when
 * configured. In a fleet the Docker provider's claim ledger and the dynamic ports are shared
 * through Redis, and the `fleet` provider relays the names other hosts' containers hold.
 */
export async function defaultParts(config: StaticConfig, log: Logger): Promise<BerthParts> {
  const providers: Provider[] = [new InternalProvider(config)];
  const background: BackgroundPart[] = [];
  const child = (provider: string): Logger => log.child({ component: 'provider', provider });
  const edge = config.edge;
  let fleet: BerthParts['fleet'];
  let ports: PortAllocator | undefined;
  if (config.fleet) {
    const { Fleet } = await import('./fleet/fleet.ts');
    fleet = await Fleet.start(config.fleet, log.child({ component: 'fleet' }));
    ports = await fleet.sharePorts(new PortAllocator(edge.stateDir, edge.dynamicPorts), edge.dynamicPorts);
  }
  if (config.providers.file) providers.push(new FileProvider(config.providers.file, { logger: child('file') }));
  if (config.providers.http) {
    const { HttpProvider } = await import('./providers/http/http-provider.ts');
    providers.push(new HttpProvider(config.providers.http, { logger: child('http') }));
  }
  if (config.providers.docker) {
    const { DockerProvider } = await import('./providers/docker/docker-provider.ts');
    const dns = await dnsAutomation(config, log.child({ component: 'dns' }));
    if (dns) background.push(dns);
    const dockerLog = child('docker');
    const claimStore = fleet?.claimStore(new FileClaimStore(join(edge.stateDir, 'claims.json'), dockerLog), {
      cachePath: join(edge.stateDir, 'fleet-claims.json'),
      goneMs: durationOr(edge.claimGracePeriod, 600_000),
      log: dockerLog,
    });
    providers.push(
      new DockerProvider(config.providers.docker, {
        edge,
        logger: dockerLog,
        ...(claimStore ? { claimStore } : {}),
        ...(dns ? { onRepositories: (repos: readonly string[]) => dns.setRepositories(repos) } : {}),
      }),
    );
  }
  if (fleet) providers.push(fleet.provider());
  return {
    providers,
    middlewares: middlewareFactories,
    background,
    ...(fleet ? { fleet } : {}),
    ...(ports ? { ports } : {}),
  };
}
