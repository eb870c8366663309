/**
 * What changed between two static configurations, for SIGHUP: which changes the running process
 * applies live, and which need a restart (a hand-over with SIGUSR2, or `systemctl restart` with
 * socket activation — both keep every connection).
 */
import { isDeepStrictEqual } from 'node:util';
import type { StaticConfig } from '../config/static/types.ts';
import { durationOr } from '../lib/duration.ts';

/** The outcome of comparing the running static configuration with the file on disk. */
export interface StaticConfigDiff {
  /** Every changed element, e.g. `entryPoints.web`, `providers.docker`, `log.level`. */
  readonly changed: readonly string[];
  /** The subset applied without a restart. */
  readonly live: readonly string[];
  /** The subset that needs a restart. */
  readonly restartRequired: readonly string[];
}

/** Elements the running process can apply on SIGHUP (the public addresses: DNS records follow them). */
const LIVE = new Set(['log.level', 'edge.publicIPv4', 'edge.publicIPv6']);

/** Keys compared one level deeper, so the report names the entrypoint or provider concerned. */
const PER_ENTRY = new Set(['entryPoints', 'providers', 'certificatesResolvers', 'log', 'edge']);

/** Compares two decoded static configurations element by element. */
export function diffStaticConfig(running: StaticConfig, next: StaticConfig): StaticConfigDiff {
  const changed: string[] = [];
  const a = running as unknown as Record<string, unknown>;
  const b = next as unknown as Record<string, unknown>;
  for (const key of union(a, b)) {
    const x = a[key];
    const y = b[key];
    if (isDeepStrictEqual(x, y)) continue;
    if (PER_ENTRY.has(key) && isRecord(x) && isRecord(y)) {
      for (const sub of union(x, y)) if (!isDeepStrictEqual(x[sub], y[sub])) changed.push(`${key}.${sub}`);
    } else changed.push(key);
  }
  return {
    changed,
    live: changed.filter((c) => LIVE.has(c)),
    restartRequired: changed.filter((c) => !LIVE.has(c)),
  };
}

function union(a: Record<string, unknown>, b: Record<string, unknown>): string[] {
  return [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * The drain deadline on SIGTERM: the longest `transport.lifeCycle.graceTimeOut` of the
 * entrypoints (Traefik's default 10 s), so it stays below Docker's default stop timeout.
 */
export function graceMs(config: StaticConfig): number {
  let grace = -1;
  for (const ep of Object.values(config.entryPoints))
    grace = Math.max(grace, durationOr(ep.transport?.lifeCycle?.graceTimeOut, 10_000));
  return grace < 0 ? 10_000 : grace;
}

/**
 * How long to keep accepting after SIGTERM before the drain starts (Traefik's
 * `requestAcceptGraceTimeout`, default 0): gives a load balancer time to notice the shutdown.
 */
export function acceptGraceMs(config: StaticConfig): number {
  let ms = 0;
  for (const ep of Object.values(config.entryPoints))
    ms = Math.max(ms, durationOr(ep.transport?.lifeCycle?.requestAcceptGraceTimeout, 0));
  return ms;
}
