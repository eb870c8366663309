import type { DynamicConfig, HttpRouter } from '../config/dynamic/types.ts';
import type { StaticConfig } from '../config/static/types.ts';
import type { Provider, ProviderSink } from './provider.ts';

/** Traefik's rule priority for its own internal routers: above anything a user writes. */
const INTERNAL_PRIORITY = 2147483647 - 1;

/**
 * The routers Traefik creates itself (its `internal` provider): `/ping` on `ping.entryPoint`,
 * `/metrics` on `metrics.prometheus.entryPoint`, and with `api.insecure` the API and dashboard on
 * the `traefik` entrypoint — each unless `manualRouting` asks the user to route it.
 */
export function internalRoutes(config: StaticConfig): DynamicConfig {
  const routers: Record<string, HttpRouter> = {};
  if (config.ping && !config.ping.manualRouting) {
    routers['ping'] = {
      rule: 'PathPrefix(`/ping`)',
      entryPoints: [config.ping.entryPoint ?? 'traefik'],
      service: 'ping@internal',
      priority: INTERNAL_PRIORITY,
    };
  }
  const prom = config.metrics?.prometheus;
  if (prom && !prom.manualRouting) {
    routers['prometheus'] = {
      rule: 'PathPrefix(`/metrics`)',
      entryPoints: [prom.entryPoint ?? 'traefik'],
      service: 'prometheus@internal',
      priority: INTERNAL_PRIORITY,
    };
  }
  if (config.api.insecure) {
    routers['api'] = {
      rule: 'PathPrefix(`/api`)',
      entryPoints: ['traefik'],
      service: 'api@internal',
      priority: INTERNAL_PRIORITY - 1,
    };
    if (config.api.dashboard)
      routers['dashboard'] = {
        rule: 'PathPrefix(`/`)',
        entryPoints: ['traefik'],
        service: 'dashboard@internal',
        priority: INTERNAL_PRIORITY - 2,
      };
  }
  return Object.keys(routers).length > 0 ? { http: { routers } } : {};
}

/** Publishes {@link internalRoutes} once, under the name `internal`. */
export class InternalProvider implements Provider {
  readonly name = 'internal';
  private readonly config: StaticConfig;

  constructor(config: StaticConfig) {
    this.config = config;
  }

  async start(sink: ProviderSink): Promise<void> {
    sink.status({ status: 'ok' });
    sink.publish(internalRoutes(this.config), []);
  }

  async stop(): Promise<void> {
    // nothing to release
  }
}
