/**
 * `berth.yaml` (already parsed into plain data) → `StaticConfig`. The only place allowed to refuse to
 * start: any error-level diagnostic means no config. Traefik's effective-configuration rules are
 * applied here too (a default `http` entrypoint on :80 when none is defined; the internal `traefik`
 * entrypoint on :8080 when ping, metrics or `api.insecure` need it).
 */
import type { InferOutput } from 'valibot';
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { parseDuration } from '../../lib/duration.ts';
import { errorMessage } from '../../lib/errors.ts';
import { decodeDocument } from '../schema/decode.ts';
import type { Issue } from '../schema/issues.ts';
import { STATIC_WARNINGS } from '../warned.ts';
import { parseListenAddress } from './address.ts';
import { withBindAddress } from './bind-address.ts';
import { entryPointSchema } from './entrypoint-schema.ts';
import { generateEntryPoints } from './generated-entrypoints.ts';
import { staticConfigSchema } from './schema.ts';
import type { EntryPointConfig, StaticConfig } from './types.ts';
import { fail, validateStaticConfig, type WalkContext } from './validate.ts';

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
  const decoded = decode(staticConfigSchema, raw ?? {}, '', ctx);
  if (decoded === undefined) return { diagnostics: ctx.diagnostics };

  let config: StaticConfig;
  try {
    const { entryPoints, providers, ...rest } = decoded;
    const { docker, ...otherProviders } = providers;
    // `api: false` leaves berth's API listening, without the dashboard.
    const api = rest.api ?? { listen: '127.0.0.1:7111', dashboard: false };
    const edge = withBindAddress(rest.edge, source, ctx.diagnostics);
    const redirect = Object.keys(rest.certificatesResolvers).length > 0;
    config = {
      ...rest,
      edge,
      api,
      providers: { ...otherProviders, ...(docker ? { docker: finishDocker(docker) } : {}) },
      entryPoints: buildEntryPoints(entryPoints, edge, redirect, ctx),
    };
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

/** Walks `raw` at `path` against `schema`, with the warnings of the static configuration. */
function decode<S extends Parameters<typeof decodeDocument>[0]>(
  schema: S,
  raw: unknown,
  path: string,
  ctx: WalkContext,
): InferOutput<S> | undefined {
  const issues: Issue[] = [];
  const value = decodeDocument(schema, raw, { issues, warnings: STATIC_WARNINGS, keepGoing: true });
  for (const i of issues) {
    const at = [path, i.path].filter((p) => p !== '').join('.') || undefined;
    ctx.diagnostics.push(
      i.level === 'error' ? diagError(ctx.source, at, i.message) : diagWarning(ctx.source, at, i.message),
    );
  }
  return value;
}

type DecodedEntryPoint = InferOutput<typeof entryPointSchema>;

/**
 * Generated entrypoints first (a user entrypoint of the same name replaces one), then the user's.
 * `redirect`: whether the generated `web` redirects to HTTPS (a certificate resolver exists).
 */
function buildEntryPoints(
  user: Record<string, DecodedEntryPoint>,
  edge: StaticConfig['edge'],
  redirect: boolean,
  ctx: WalkContext,
): Record<string, EntryPointConfig> {
  const out: Record<string, EntryPointConfig> = {};
  for (const g of generateEntryPoints(edge, { redirect })) {
    const mine = user[g.name];
    if (mine !== undefined) {
      const ep = withAddress(mine, `entryPoints.${g.name}`, ctx);
      if (ep) out[g.name] = ep;
      continue;
    }
    const decoded = decode(entryPointSchema, g.raw, `entryPoints.${g.name}`, ctx);
    const ep = decoded && withAddress(decoded, `entryPoints.${g.name}`, ctx);
    if (ep) out[g.name] = { ...ep, generated: true };
  }
  for (const [name, ep] of Object.entries(user)) {
    if (name in out) continue;
    const withAddr = withAddress(ep, `entryPoints.${name}`, ctx);
    if (withAddr) out[name] = withAddr;
  }
  if (Object.keys(user).length === 0 && Object.keys(out).length === 0) {
    // As Traefik: with no entrypoint at all, one named `http` listens on :80.
    const decoded = decode(entryPointSchema, { address: ':80' }, 'entryPoints.http', ctx);
    const ep = decoded && withAddress(decoded, 'entryPoints.http', ctx);
    if (ep) out['http'] = ep;
  }
  return out;
}

function withAddress(decoded: DecodedEntryPoint, path: string, ctx: WalkContext): EntryPointConfig | undefined {
  // Absent when it was invalid (already reported): the document is refused anyway.
  if (typeof decoded.address !== 'string') return undefined;
  const parsed = parseListenAddress(decoded.address);
  if ('error' in parsed) {
    fail(ctx, `${path}.address`, parsed.error);
    return undefined;
  }
  return { ...decoded, ...parsed };
}

/** Folds `endpoint` into the effective `endpoints` list and turns `rescanInterval` into ms. */
function finishDocker(
  docker: NonNullable<InferOutput<typeof staticConfigSchema>['providers']['docker']>,
): NonNullable<StaticConfig['providers']['docker']> {
  const { rescanInterval, ...rest } = docker;
  const list = [...(docker.endpoint !== undefined ? [docker.endpoint] : []), ...(docker.endpoints ?? [])];
  return {
    ...rest,
    endpoints: list.length > 0 ? [...new Set(list)] : ['unix:///var/run/docker.sock'],
    rescanIntervalMs: parseDuration(rescanInterval) ?? 5000,
  };
}

/** Traefik creates `traefik` on :8080 when ping, Prometheus or `api.insecure` use it and it is missing. */
function addInternalEntryPoint(config: StaticConfig, ctx: WalkContext): void {
  if (INTERNAL_ENTRYPOINT in config.entryPoints) return;
  const users: string[] = [];
  if (config.api.insecure === true) users.push('api.insecure');
  if (config.ping && config.ping.manualRouting !== true && config.ping.entryPoint === INTERNAL_ENTRYPOINT)
    users.push('ping');
  const prom = config.metrics?.prometheus;
  if (prom && prom.manualRouting !== true && prom.entryPoint === INTERNAL_ENTRYPOINT) users.push('metrics.prometheus');
  if (users.length === 0) return;
  const decoded = decode(entryPointSchema, { address: INTERNAL_ADDRESS }, `entryPoints.${INTERNAL_ENTRYPOINT}`, ctx);
  const ep = decoded && withAddress(decoded, `entryPoints.${INTERNAL_ENTRYPOINT}`, ctx);
  if (!ep) return;
  config.entryPoints[INTERNAL_ENTRYPOINT] = { ...ep, generated: true };
  ctx.diagnostics.push(
    diagWarning(
      ctx.source,
      `entryPoints.${INTERNAL_ENTRYPOINT}`,
      `not defined; created on ${INTERNAL_ADDRESS} (all interfaces) for ${users.join(', ')}, as Traefik does — define it (e.g. address "127.0.0.1:8080") to choose where it listens`,
    ),
  );
}
