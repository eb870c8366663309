import type { Middleware } from '../config/dynamic/types.ts';
import { buildIpMatcher } from '../lib/ip.ts';
import { inFlightConn } from './in-flight-conn.ts';
import type { TcpMiddleware } from './routing.ts';

/**
 * Traefik's TCP middlewares: `ipAllowList` (and the deprecated `ipWhiteList`) with `sourceRange`
 * only (Traefik's TCP variant has no `ipStrategy`: a TCP connection carries no forwarding
 * headers), and `inFlightConn` with `amount`, counted per client IP. They run once per connection,
 * after the router is chosen and before the upstream is dialled or any byte is forwarded (TLS
 * terminated or passed through); a refused connection is closed at once.
 */

/** A middleware that could be built, or why not. */
export type TcpMiddlewareResult =
  | { readonly ok: true; readonly middleware: TcpMiddleware }
  | { readonly ok: false; readonly error: string };

/** The TCP middleware types berth knows, with their options. */
const TYPES: Readonly<Record<string, readonly string[]>> = {
  ipAllowList: ['sourceRange'],
  ipWhiteList: ['sourceRange'],
  inFlightConn: ['amount'],
};

/** Builds every TCP middleware of the merged configuration; each broken one is an error of its own. */
export function buildTcpMiddlewares(
  defs: Readonly<Record<string, Middleware>> | undefined,
): Map<string, TcpMiddlewareResult> {
  const out = new Map<string, TcpMiddlewareResult>();
  for (const [name, def] of Object.entries(defs ?? {})) out.set(name, buildOne(name, def));
  return out;
}

/**
 * A router's `middlewares` list (qualified names, applied in order) as built middlewares, or the
 * first problem: an unknown or broken middleware disables the router, as in Traefik.
 */
export function resolveTcpMiddlewares(
  refs: readonly string[] | undefined,
  built: ReadonlyMap<string, TcpMiddlewareResult>,
): { readonly chain: TcpMiddleware[] } | { readonly error: string } {
  const chain: TcpMiddleware[] = [];
  for (const ref of refs ?? []) {
    const m = built.get(ref);
    if (m === undefined) return { error: `unknown TCP middleware "${ref}"` };
    if (!m.ok) return { error: `TCP middleware "${ref}" is invalid: ${m.error}` };
    chain.push(m.middleware);
  }
  return { chain };
}

function buildOne(name: string, def: Middleware): TcpMiddlewareResult {
  const types = Object.keys(def ?? {});
  if (types.length !== 1)
    return {
      ok: false,
      error: `a middleware needs exactly one type, got ${types.length === 0 ? 'none' : types.join(', ')}`,
    };
  const type = types[0]!;
  const known = TYPES[type];
  if (known === undefined)
    return {
      ok: false,
      error: `unknown TCP middleware type "${type}" (TCP middlewares: ${Object.keys(TYPES).join(', ')})`,
    };
  const options = def[type] ?? {};
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      const hint =
        key === 'ipStrategy'
          ? " (Traefik's TCP ipAllowList has only sourceRange: a TCP connection has no forwarding headers)"
          : '';
      return { ok: false, error: `${type}.${key}: unknown option${hint}` };
    }
  }
  if (type === 'inFlightConn') {
    const amount = positiveInteger(options.amount);
    if (amount === undefined)
      return {
        ok: false,
        error: `inFlightConn.amount: expected a whole number of connections ≥ 1, got ${JSON.stringify(options.amount ?? null)}`,
      };
    return { ok: true, middleware: inFlightConn(name, amount) };
  }
  const ranges = stringList(options.sourceRange);
  if (ranges === undefined || ranges.length === 0)
    return { ok: false, error: `${type}.sourceRange: at least one address or range is required` };
  const { matcher, invalid } = buildIpMatcher(ranges);
  if (invalid.length > 0)
    return { ok: false, error: `${type}.sourceRange: invalid address or range ${JSON.stringify(invalid[0])}` };
  return { ok: true, middleware: { name, admit: (ip) => ip !== '' && matcher.has(ip) } };
}

/** A list of strings, or a comma-separated string as Docker labels give it. */
function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string')
    return v
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
  if (Array.isArray(v) && v.every((x) => typeof x === 'string'))
    return v.map((s: string) => s.trim()).filter((s) => s !== '');
  return undefined;
}

/** A whole number ≥ 1, as a number or as the digits of a label. */
function positiveInteger(v: unknown): number | undefined {
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : NaN;
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}
