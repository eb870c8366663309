import type { StaticConfig } from './config/static/types.ts';
import type { Logger } from './lib/logger.ts';
import { errorMessage } from './lib/errors.ts';
import type { BerthParts } from './app.ts';
import type { Provider } from './providers/provider.ts';
import { FileProvider } from './providers/file/file-provider.ts';
import { InternalProvider } from './providers/internal-provider.ts';
import { middlewareFactories } from './http/middlewares/registry.ts';

/**
 * DNS automation (SPEC §7): host records at start, a wildcard per repository when its first
 * container appears. Failures are logged and retried on the next change; routing never waits on DNS.
 */
async function dnsAutomation(config: StaticConfig, log: Logger): Promise<((repos: readonly string[]) => void) | undefined> {
  const edge = config.edge;
  if (edge.dns?.provider !== 'cloudflare' || !edge.baseDomain || !edge.machineName || (!edge.publicIPv4 && !edge.publicIPv6)) return undefined;
  const { CloudflareDns } = await import('./dns/cloudflare.ts');
  const { DnsRecordsManager } = await import('./dns/records-manager.ts');
  let manager: InstanceType<typeof DnsRecordsManager>;
  try {
    manager = new DnsRecordsManager({ provider: new CloudflareDns(), logger: log, ...(edge.dns.ttl !== undefined ? { ttl: edge.dns.ttl } : {}), ...(edge.dns.proxied !== undefined ? { proxied: edge.dns.proxied } : {}) });
  } catch (err) {
    log.error({ err }, `DNS automation is off: ${errorMessage(err)}`);
    return undefined;
  }
  const ready = manager.ensureHostRecords({
    machineName: edge.machineName,
    baseDomain: edge.baseDomain,
    ...(edge.publicIPv4 ? { publicIPv4: edge.publicIPv4 } : {}),
    ...(edge.publicIPv6 ? { publicIPv6: edge.publicIPv6 } : {}),
  }).then(() => true, (err: unknown) => { log.error({ err }, `DNS host records: ${errorMessage(err)}`); return false; });
  return (repos) => {
    void ready.then(async (ok) => {
      if (!ok) return;
      for (const r of repos) await manager.ensureRepository(r).catch((err: unknown) => log.error({ err, repository: r }, `DNS records for repository ${r}: ${errorMessage(err)}`));
    });
  };
}

/**
 * The standard set of providers and middlewares for a static configuration. Heavy clients
 * (dockerode, undici's provider, the Cloudflare SDK) are loaded only when configured.
 */
export async function defaultParts(config: StaticConfig, log: Logger): Promise<BerthParts> {
  const providers: Provider[] = [new InternalProvider(config)];
  const child = (provider: string): Logger => log.child({ component: 'provider', provider });
  if (config.providers.file) providers.push(new FileProvider(config.providers.file, { logger: child('file') }));
  if (config.providers.http) {
    const { HttpProvider } = await import('./providers/http/http-provider.ts');
    providers.push(new HttpProvider(config.providers.http, { logger: child('http') }));
  }
  if (config.providers.docker) {
    const { DockerProvider } = await import('./providers/docker/docker-provider.ts');
    const onRepositories = await dnsAutomation(config, log.child({ component: 'dns' }));
    providers.push(new DockerProvider(config.providers.docker, { edge: config.edge, logger: child('docker'), ...(onRepositories ? { onRepositories } : {}) }));
  }
  return { providers, middlewares: middlewareFactories };
}
