import type { ProxyRequest, RequestContext } from '../handler.ts';
import { buildIpMatcher, normalizeIp } from '../../lib/ip.ts';
import { OptionError, nested, optBool, optNumber, optObject, optString, optStringList } from './options.ts';

/** Picks the client address a middleware acts on (Traefik's `ipStrategy`). */
export type IpStrategy = (req: ProxyRequest, ctx: RequestContext) => string;

/**
 * Traefik's `ipStrategy`: without `depth`/`excludedIPs`, the direct peer's address; with `depth: N`,
 * the N-th address from the right of `X-Forwarded-For` (empty when the header is shorter); with
 * `excludedIPs`, the right-most address not in the list. `ipv6Subnet` masks IPv6 results so a whole
 * subnet counts as one client.
 */
export function buildIpStrategy(options: Record<string, unknown> | undefined): IpStrategy {
  if (!options) return remoteAddr;
  const depth = optNumber(options, 'depth', { min: 0, integer: true }) ?? 0;
  const excluded = optStringList(options, 'excludedIPs') ?? [];
  const subnet = optNumber(options, 'ipv6Subnet', { min: 0, integer: true });
  if (subnet !== undefined && subnet > 128) throw new OptionError('ipv6Subnet: must be at most 128');
  let base: IpStrategy = remoteAddr;
  if (depth > 0) {
    base = (req) => {
      const xff = forwardedFor(req);
      if (xff.length < depth) return '';
      return xff[xff.length - depth] ?? '';
    };
  } else if (excluded.length > 0) {
    const { matcher, invalid } = buildIpMatcher(excluded);
    if (invalid.length > 0)
      throw new OptionError(`excludedIPs: invalid address or range ${JSON.stringify(invalid[0])}`);
    base = (req) => {
      const xff = forwardedFor(req);
      for (let i = xff.length - 1; i >= 0; i--) {
        const ip = xff[i]!;
        if (!matcher.has(ip)) return ip;
      }
      return '';
    };
  }
  if (subnet === undefined) return base;
  return (req, ctx) => maskIpv6(base(req, ctx), subnet);
}

const remoteAddr: IpStrategy = (_req, ctx) => ctx.remoteIp;

function forwardedFor(req: ProxyRequest): string[] {
  const joined = req.headers.get('x-forwarded-for');
  if (joined === undefined) return [];
  return joined
    .split(',')
    .map((s) => normalizeIp(s.trim()))
    .filter((s) => s !== '');
}

function maskIpv6(ip: string, bits: number): string {
  if (!ip.includes(':')) return ip;
  const groups = expandIpv6(ip);
  if (!groups) return ip;
  const out: number[] = [];
  for (let i = 0; i < 8; i++) {
    const keep = Math.max(0, Math.min(16, bits - i * 16));
    const mask = keep === 0 ? 0 : (0xffff << (16 - keep)) & 0xffff;
    out.push(groups[i]! & mask);
  }
  return out.map((g) => g.toString(16)).join(':');
}

function expandIpv6(ip: string): number[] | undefined {
  const [head, tail] = ip.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - h.length - t.length;
  const parts = [...h, ...Array(fill).fill('0'), ...t];
  if (parts.length !== 8) return undefined;
  const nums = parts.map((p) => parseInt(p, 16));
  return nums.some((n) => Number.isNaN(n)) ? undefined : nums;
}

/** Extracts the key requests are grouped by (rate limits, in-flight limits). */
export type SourceExtractor = (req: ProxyRequest, ctx: RequestContext) => string;

/**
 * Traefik's `sourceCriterion`: `ipStrategy`, `requestHeaderName` or `requestHost` (exactly one).
 * `fallback` applies when none is given (rateLimit: the peer address; inFlightReq: the host).
 */
export function buildSourceExtractor(
  options: Record<string, unknown> | undefined,
  fallback: 'ip' | 'host',
): SourceExtractor {
  const crit = options ? nested('sourceCriterion', () => readCriterion(options)) : undefined;
  if (!crit) return fallback === 'ip' ? remoteAddr : (_req, ctx) => ctx.host;
  return crit;
}

function readCriterion(options: Record<string, unknown>): SourceExtractor | undefined {
  const ipOpts = optObject(options, 'ipStrategy');
  const header = optString(options, 'requestHeaderName');
  const host = optBool(options, 'requestHost') ?? false;
  const count = (ipOpts ? 1 : 0) + (header ? 1 : 0) + (host ? 1 : 0);
  if (count > 1) throw new OptionError('ipStrategy, requestHeaderName and requestHost are mutually exclusive');
  if (ipOpts) return nested('ipStrategy', () => buildIpStrategy(ipOpts));
  if (header) {
    const name = header.toLowerCase();
    return (req) => req.headers.get(name) ?? '';
  }
  if (host) return (_req, ctx) => ctx.host;
  return undefined;
}
