import type { DynamicConfig } from '../config/dynamic/types.ts';
import { ruleSyntaxOf } from '../config/rule-syntax.ts';
import type { EntryPointConfig } from '../config/static/types.ts';
import { diagError, diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import type { Logger } from '../lib/logger.ts';
import type { ElementStatus } from '../model/element-status.ts';
import { buildSniIndex } from '../rules/sni-index.ts';
import { compareRouters } from '../rules/router-order.ts';
import { defaultTcpPriority, parseTcpRule } from '../rules/tcp-rule.ts';
import { compileTlsOptions, type CompiledTlsOptions } from '../tls/compile-tls-options.ts';
import { routerOptionsName } from '../tls/policy.ts';
import type { TlsContextSource } from '../tls/types.ts';
import { providerOf } from '../model/qualified-name.ts';
import { attachEntrypoints } from './entrypoint-attach.ts';
import { buildTcpMiddlewares, resolveTcpMiddlewares, type TcpMiddlewareResult } from './middlewares.ts';
import type { PortAllocator } from './port-allocator.ts';
import type { CompiledTcpRouter, IndexedTlsRouter, TcpEntrypointRouting, TcpTlsMode } from './routing.ts';
import { buildTcpServices } from './service.ts';

/** What the TCP builder needs besides the configuration. */
export interface L4BuildEnv {
  /** Certificate store for TLS-terminating routers; without it they are refused. */
  readonly tls?: TlsContextSource;
  readonly logger: Logger;
  /** Dynamic port allocator for `tcp-dynamic` / `udp-dynamic` routers. */
  readonly allocator?: Pick<PortAllocator, 'assign'>;
}

/** The result of an L4 build: per-entrypoint routing plus statuses and problems. */
export interface L4BuildResult<R> {
  readonly routing: Map<string, R>;
  readonly diagnostics: Diagnostic[];
  readonly elements: ElementStatus[];
  /**
   * Entrypoints the static config lacks but dynamic-port routers need (`tcp-10003`, `udp-10001`),
   * to be opened by the entrypoint manager like the generated ones.
   */
  readonly extraEntrypoints: Record<string, EntryPointConfig>;
}

/**
 * Builds TCP routing for every TCP entrypoint from the merged, qualified configuration. Each
 * broken router (bad rule, unknown or broken service or middleware, SNI on a non-TLS router,
 * termination without a certificate store or with TLS options that do not exist, no usable entrypoint) is dropped alone with a
 * diagnostic and a disabled status; every service gets a status too, and every broken middleware
 * a diagnostic.
 */
export function buildTcpRouting(
  config: DynamicConfig,
  entrypoints: Record<string, EntryPointConfig>,
  env: L4BuildEnv,
): L4BuildResult<TcpEntrypointRouting> {
  const diagnostics: Diagnostic[] = [];
  const elements: ElementStatus[] = [];
  const extraEntrypoints: Record<string, EntryPointConfig> = {};
  const services = buildTcpServices(config.tcp);
  for (const [name, res] of services) {
    if (!res.ok) diagnostics.push(diagError(`provider ${providerOf(name)}`, `tcp.services.${name}`, res.error));
    elements.push({
      name,
      kind: 'tcp-service',
      status: res.ok ? 'enabled' : 'disabled',
      errors: res.ok ? [] : [res.error],
    });
  }
  const middlewares = buildTcpMiddlewares(config.tcp?.middlewares);
  for (const [name, res] of middlewares) {
    if (!res.ok) diagnostics.push(diagError(`provider ${providerOf(name)}`, `tcp.middlewares.${name}`, res.error));
  }

  const tlsPolicies = tlsPolicyLookup(config.tls?.options ?? {});
  const perEntrypoint = new Map<string, CompiledTcpRouter[]>();
  for (const [name, def] of Object.entries(config.tcp?.routers ?? {})) {
    const source = `provider ${providerOf(name)}`;
    const element = `tcp.routers.${name}`;
    const errors: string[] = [];
    const warnings: string[] = [];
    const compiled = compileRouter(name, def, services, middlewares, tlsPolicies, env, errors);
    let eps: string[] = [];
    if (compiled) {
      const att = attachEntrypoints(name, def.entryPoints, 'tcp', entrypoints, env.allocator, extraEntrypoints);
      warnings.push(...att.warnings);
      if (att.error) errors.push(att.error);
      else eps = att.entrypoints;
    }
    for (const e of errors) diagnostics.push(diagError(source, element, e));
    if (errors.length === 0) for (const w of warnings) diagnostics.push(diagWarning(source, element, w));
    if (errors.length > 0 || !compiled) {
      elements.push({ name, kind: 'tcp-router', status: 'disabled', errors });
      continue;
    }
    elements.push({ name, kind: 'tcp-router', status: warnings.length > 0 ? 'warning' : 'enabled', errors: warnings });
    for (const ep of eps) {
      const list = perEntrypoint.get(ep);
      if (list) list.push(compiled.router);
      else perEntrypoint.set(ep, [compiled.router]);
    }
  }

  const routing = new Map<string, TcpEntrypointRouting>();
  for (const [ep, list] of perEntrypoint) {
    const routers = list.sort(compareRouters);
    const plain = routers.filter((r) => r.tls === 'none');
    const tlsRouters: IndexedTlsRouter[] = routers
      .filter((r) => r.tls !== 'none')
      .map((r) => ({ name: r.name, priority: r.priority, rule: r.compiled, router: r }));
    routing.set(ep, {
      entrypoint: ep,
      routers,
      plain,
      tlsIndex: buildSniIndex(tlsRouters),
      hasCatchAllPlain: plain.some((r) => r.catchAll),
      hasTlsRouters: tlsRouters.length > 0,
      ...(env.tls ? { tlsSource: env.tls } : {}),
      logger: env.logger,
    });
  }
  return { routing, diagnostics, elements, extraEntrypoints };
}

function compileRouter(
  name: string,
  def: NonNullable<NonNullable<DynamicConfig['tcp']>['routers']>[string],
  services: ReturnType<typeof buildTcpServices>,
  middlewares: ReadonlyMap<string, TcpMiddlewareResult>,
  tlsPolicies: (name: string) => CompiledTlsOptions | undefined,
  env: L4BuildEnv,
  errors: string[],
): { router: CompiledTcpRouter } | undefined {
  if (typeof def?.rule !== 'string' || def.rule.trim() === '') {
    errors.push('rule is missing; a TCP router needs one, e.g. HostSNI(`*`)');
    return undefined;
  }
  const parsed = parseTcpRule(def.rule, ruleSyntaxOf(def.ruleSyntax));
  if (!parsed.ok) {
    errors.push(`invalid rule: ${parsed.error}`);
    return undefined;
  }
  const tls: TcpTlsMode = def.tls === undefined ? 'none' : def.tls.passthrough === true ? 'passthrough' : 'terminate';
  if (tls === 'none' && parsed.rule.hosts !== null) {
    errors.push(
      'HostSNI with a host name needs TLS (tls.passthrough or tls termination); plain TCP routers can only use HostSNI(`*`)',
    );
  }
  if (tls === 'terminate' && !env.tls)
    errors.push('TLS termination needs the certificate store, which is not available');
  // As Traefik: terminating routers handshake with their TLS options (`default` unless named);
  // options that do not exist disable the router rather than weaken its handshake.
  const optionsName = tls === 'terminate' ? routerOptionsName(name, def.tls?.options) : undefined;
  const tlsPolicy = optionsName !== undefined ? tlsPolicies(optionsName) : undefined;
  if (optionsName !== undefined && tlsPolicy === undefined)
    errors.push(`unknown TLS options "${def.tls?.options}" (tls.options.${optionsName} does not exist)`);
  const svc = services.get(def.service);
  if (!svc) errors.push(`unknown service "${def.service}"`);
  else if (!svc.ok) errors.push(`service "${def.service}" is broken: ${svc.error}`);
  const chain = resolveTcpMiddlewares(def.middlewares, middlewares);
  if ('error' in chain) errors.push(chain.error);
  if (errors.length > 0 || !svc?.ok || 'error' in chain) return undefined;
  const router: CompiledTcpRouter = {
    name,
    rule: def.rule,
    priority: typeof def.priority === 'number' && def.priority !== 0 ? def.priority : defaultTcpPriority(def.rule),
    service: def.service,
    tls,
    ...(optionsName !== undefined && tlsPolicy !== undefined ? { tlsOptions: optionsName, tlsPolicy } : {}),
    match: parsed.rule.match,
    catchAll: parsed.rule.catchAll,
    compiled: parsed.rule,
    target: svc.service,
    middlewares: chain.chain,
  };
  return { router };
}

/** Compiles each TLS options definition once per build; `default` exists even when not defined. */
function tlsPolicyLookup(
  defs: NonNullable<NonNullable<DynamicConfig['tls']>['options']>,
): (name: string) => CompiledTlsOptions | undefined {
  const compiled = new Map<string, CompiledTlsOptions>();
  return (name) => {
    let c = compiled.get(name);
    if (c === undefined && (name === 'default' || defs[name] !== undefined)) {
      c = compileTlsOptions(defs[name], `tls.options.${name}`);
      compiled.set(name, c);
    }
    return c;
  };
}
