/**
 * `berth.yaml` (already parsed into plain data) → `StaticConfig`. The only place allowed to refuse to
 * start: any error-level diagnostic means no config. Traefik's effective-configuration rules are
 * applied here too (a default `http` entrypoint on :80 when none is defined; the internal `traefik`
 * entrypoint on :8080 when ping, metrics or `api.insecure` need it).
 */
import { diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { parseDuration } from '../../lib/duration.ts';
import { errorMessage } from '../../lib/errors.ts';
import { parseListenAddress } from './address.ts';
import { staticConfigSchema } from './berth-schema.ts';
import { generateEntryPoints } from './generated-entrypoints.ts';
import { ABSENT, fail, walk, type WalkContext } from './schema.ts';
import { entryPointSchema } from './traefik-schema.ts';
import type { EntryPointConfig, StaticConfig } from './types.ts';
import { validateStaticConfig } from './validate.ts';

/** Result of decoding: `config` is undefined when any diagnostic is an error. */
export interface StaticDecodeResult {
  config?: StaticConfig;
  diagnostics: Diagnostic[];
}

/** Name and address of Traefik's internal entrypoint (API, ping, metrics). */
const INTERNAL_ENTRYPOINT = 'traefik';
const INTERNAL_ADDRESS = ':8080';

/**
 * Decodes, defaults and validates a static configuration. `source` names the input in diagnostics
 * (e.g. `file /etc/berth/berth.yaml`). Never throws on bad input.
 */
export function decodeStaticConfig(raw: unknown, source: string): StaticDecodeResult {
  const ctx: WalkContext = { source, diagnostics: [] };
  const decoded = walk(raw ?? {}, staticConfigSchema, '', ctx);
  if (decoded === ABSENT) return { diagnostics: ctx.diagnostics };
  // The schema guarantees the shape and every default documented in types.ts.
  const d = decoded as Omit<StaticConfig, 'entryPoints'> & { entryPoints: Record<string, Record<string, unknown>> };

  let config: StaticConfig;
  try {
    config = { ...d, entryPoints: buildEntryPoints(d, ctx) };
    if (!('api' in d)) config.api = { listen: '127.0.0.1:7111', dashboard: false };
    finishDocker(config);
    addInternalEntryPoint(config, ctx);
    validateStaticConfig(config, ctx);
  } catch (err) {
    // Only reachable through a bug; bad input must still end as a diagnostic, never a crash.
    fail(ctx, '', `internal error while checking the configuration: ${errorMessage(err)}`);
    return { diagnostics: ctx.diagnostics };
  }

  const failed = ctx.diagnostics.some((x) => x.level === 'error');
  return failed ? { diagnostics: ctx.diagnostics } : { config, diagnostics: ctx.diagnostics };
}

/** Generated entrypoints first (a user entrypoint of the same name replaces one), then the user's. */
function buildEntryPoints(d: { entryPoints: Record<string, Record<string, unknown>>; edge: StaticConfig['edge'] }, ctx: WalkContext): Record<string, EntryPointConfig> {
  const out: Record<string, EntryPointConfig> = {};
  for (const g of generateEntryPoints(d.edge)) {
    const user = d.entryPoints[g.name];
    if (user !== undefined) {
      const ep = withAddress(user, `entryPoints.${g.name}`, ctx);
      if (ep) out[g.name] = ep;
      continue;
    }
    const decoded = walk(g.raw, entryPointSchema, `entryPoints.${g.name}`, ctx);
    if (decoded === ABSENT) continue;
    const ep = withAddress(decoded as Record<string, unknown>, `entryPoints.${g.name}`, ctx);
    if (ep) out[g.name] = { ...ep, generated: true };
  }
  for (const [name, user] of Object.entries(d.entryPoints)) {
    if (name in out) continue;
    const ep = withAddress(user, `entryPoints.${name}`, ctx);
    if (ep) out[name] = ep;
  }
  if (Object.keys(d.entryPoints).length === 0 && Object.keys(out).length === 0) {
    // As Traefik: with no entrypoint at all, one named `http` listens on :80.
    const ep = withAddress(walk({ address: ':80' }, entryPointSchema, 'entryPoints.http', ctx) as Record<string, unknown>, 'entryPoints.http', ctx);
    if (ep) out['http'] = ep;
  }
  return out;
}

function withAddress(decoded: Record<string, unknown>, path: string, ctx: WalkContext): EntryPointConfig | undefined {
  const address = decoded['address'];
  if (typeof address !== 'string') return undefined;
  const parsed = parseListenAddress(address);
  if ('error' in parsed) {
    fail(ctx, `${path}.address`, parsed.error);
    return undefined;
  }
  return { ...(decoded as Omit<EntryPointConfig, 'host' | 'port' | 'protocol'>), ...parsed };
}

/** Folds `endpoint` into the effective `endpoints` list and turns `rescanInterval` into ms. */
function finishDocker(config: StaticConfig): void {
  const docker = config.providers.docker as (StaticConfig['providers']['docker'] & { rescanInterval?: string }) | undefined;
  if (!docker) return;
  const list = [...(docker.endpoint !== undefined ? [docker.endpoint] : []), ...(docker.endpoints ?? [])];
  docker.endpoints = list.length > 0 ? [...new Set(list)] : ['unix:///var/run/docker.sock'];
  docker.rescanIntervalMs = parseDuration(docker.rescanInterval) ?? 5000;
  delete docker.rescanInterval;
}

/** Traefik creates `traefik` on :8080 when ping, Prometheus or `api.insecure` use it and it is missing. */
function addInternalEntryPoint(config: StaticConfig, ctx: WalkContext): void {
  if (INTERNAL_ENTRYPOINT in config.entryPoints) return;
  const users: string[] = [];
  if (config.api.insecure === true) users.push('api.insecure');
  if (config.ping && config.ping.manualRouting !== true && config.ping.entryPoint === INTERNAL_ENTRYPOINT) users.push('ping');
  const prom = config.metrics?.prometheus;
  if (prom && prom.manualRouting !== true && prom.entryPoint === INTERNAL_ENTRYPOINT) users.push('metrics.prometheus');
  if (users.length === 0) return;
  const decoded = walk({ address: INTERNAL_ADDRESS }, entryPointSchema, `entryPoints.${INTERNAL_ENTRYPOINT}`, ctx) as Record<string, unknown>;
  const ep = withAddress(decoded, `entryPoints.${INTERNAL_ENTRYPOINT}`, ctx);
  if (!ep) return;
  config.entryPoints[INTERNAL_ENTRYPOINT] = { ...ep, generated: true };
  ctx.diagnostics.push(diagWarning(ctx.source, `entryPoints.${INTERNAL_ENTRYPOINT}`,
    `not defined; created on ${INTERNAL_ADDRESS} (all interfaces) for ${users.join(', ')}, as Traefik does — define it (e.g. address "127.0.0.1:8080") to choose where it listens`));
}
