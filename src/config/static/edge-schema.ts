/**
 * berth's own sections of the static configuration: `edge` (the host's identity and what is
 * generated from it), `limits` and `workers`.
 */
import { isIP, isIPv4, isIPv6 } from 'node:net';
import { bool, custom, dflt, dur, fill, int, list, obj, oneOf, port, req, str } from '../schema/kit.ts';
import { describe } from '../schema/issues.ts';
import { ipRange } from './entrypoint-schema.ts';

/** Most ports a `dynamicPorts` range may span: each port is an entrypoint and a listening socket. */
export const MAX_DYNAMIC_PORTS = 1024;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const dnsLabel = (v: string): string | undefined =>
  LABEL.test(v) ? undefined : `"${v}" is not a valid DNS label (letters, digits, "-")`;
const domainName = (v: string): string | undefined =>
  v.length <= 253 && v.split('.').every((l) => LABEL.test(l)) ? undefined : `"${v}" is not a valid domain name`;
const ipv4 = (v: string): string | undefined => (isIPv4(v) ? undefined : `"${v}" is not an IPv4 address`);
const ipAddress = (v: string): string | undefined =>
  isIP(v) !== 0 ? undefined : `"${v}" is not an IP address (no brackets, no port)`;

/** `10000-10010`, a single port, or `{from, to}` → `{from, to}`. */
export function decodePortRange(v: unknown): { value: { from: number; to: number } } | { error: string } {
  let from: unknown;
  let to: unknown;
  if (typeof v === 'number') from = to = v;
  else if (typeof v === 'string') {
    const m = /^\s*(\d+)\s*(?:-\s*(\d+)\s*)?$/.exec(v);
    if (!m) return { error: `expected a port range such as "10000-10010" or {from, to}, got "${v}"` };
    from = Number(m[1]);
    to = Number(m[2] ?? m[1]);
  } else if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const o = Object.fromEntries(
      Object.entries(v).map(([k, x]) => [k.toLowerCase(), typeof x === 'string' && /^\d+$/.test(x) ? Number(x) : x]),
    );
    const extra = Object.keys(o).filter((k) => k !== 'from' && k !== 'to');
    if (extra.length > 0) return { error: `unknown key "${extra[0]}" in port range (expected from and to)` };
    from = o['from'];
    to = o['to'];
  } else return { error: 'expected a port range such as "10000-10010" or {from, to}' };
  const ok = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
  if (!ok(from) || !ok(to)) return { error: 'port range bounds must be integers between 1 and 65535' };
  if (from > to) return { error: `port range starts after it ends (${from}-${to})` };
  if (to - from + 1 > MAX_DYNAMIC_PORTS)
    return { error: `port range too large (${to - from + 1} ports); at most ${MAX_DYNAMIC_PORTS}` };
  return { value: { from, to } };
}

/** `[2001:db8::1]` or `2001:db8::1` → `2001:db8::1`. */
function decodeIPv6(v: unknown): { value: string } | { error: string } {
  if (typeof v !== 'string') return { error: 'expected an IPv6 address' };
  const bare = v.startsWith('[') && v.endsWith(']') ? v.slice(1, -1) : v;
  return isIPv6(bare) ? { value: bare } : { error: `"${v}" is not an IPv6 address` };
}

function decodeWorkers(v: unknown): { value: number | 'auto' } | { error: string } {
  if (typeof v === 'string' && v.trim().toLowerCase() === 'auto') return { value: 'auto' };
  const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 1024) return { value: n };
  return { error: `expected "auto" or a number of workers (1-1024), got ${typeof n === 'number' ? n : describe(v)}` };
}

/** `edge`: the host's identity and what berth generates from it. */
export const edgeSchema = obj({
  /** This host's name inside `baseDomain`: routes become `{service}.{repo}.{machineName}.{baseDomain}`. */
  machineName: str({ check: dnsLabel }),
  baseDomain: str({ check: domainName }),
  /** When set, IPv4 entrypoints are generated on this address. */
  publicIPv4: str({ check: ipv4 }),
  /** When set, IPv6 entrypoints (`-v6` suffix) are generated on this address (without brackets). */
  publicIPv6: custom('an IPv6 address', decodeIPv6),
  /**
   * Where the generated IPv4 entrypoints, and the dynamic-port and on-demand ones, listen. Default:
   * `publicIPv4` when it is an address of this host, else `0.0.0.0` — on a NAT'd cloud VM the public
   * address is on no interface and binding it would fail. Always set after decoding.
   */
  bindAddress: str({ check: ipAddress }),
  /**
   * Forwarded headers of the generated entrypoints (and the dynamic-port and on-demand ones): the
   * peers whose `X-Forwarded-*` headers are trusted — a tunnel or CDN in front of berth. A trusted
   * `X-Forwarded-Proto: https` is not redirected to HTTPS again.
   */
  forwardedHeaders: obj({ trustedIPs: list(str({ check: ipRange })) }),
  /** Auto-routes from rediacc labels. */
  autoRoutes: dflt(bool(), true),
  /** Resolver used for auto-routes; must name a `certificatesResolvers` entry. */
  certResolver: str(),
  /** Automatic DNS records. The API token comes from CF_DNS_API_TOKEN / CF_DNS_API_TOKEN_FILE, never the file. */
  dns: obj({
    provider: req(oneOf(['cloudflare'])),
    zoneId: str(),
    proxied: fill(bool(), false),
    ttl: int({ min: 1, max: 86400 }),
  }),
  /** Extra TCP entrypoints (`tcp-{port}`). */
  tcpPorts: dflt(list(port()), []),
  /** Extra UDP entrypoints (`udp-{port}`). */
  udpPorts: dflt(list(port()), []),
  /** Inclusive range of TCP ports with an entrypoint each. */
  dynamicPorts: dflt(custom('a port range', decodePortRange), { from: 10000, to: 10010 }),
  /** Port allocations and other state that must survive restarts. */
  stateDir: dflt(str(), '/var/lib/berth'),
  /** Port of the generated `web` entrypoints (tests use unprivileged ports). */
  webPort: dflt(port(), 80),
  /** Port of the generated `websecure` entrypoints. */
  websecurePort: dflt(port(), 443),
  /** How long a stopped container keeps its host claims, so a restart does not lose them to another daemon. */
  claimGracePeriod: fill(dur(), '10m'),
});

/** `limits`: bounds that protect the process from hostile or broken clients (see `LimitsConfig`). */
export const limitsSchema = obj({
  maxHeaderBytes: dflt(int({ min: 1024, max: 1048576 }), 32768),
  maxHeaderCount: dflt(int({ min: 8, max: 10000 }), 200),
  headersTimeout: dflt(dur(), '30s'),
  handshakeTimeout: dflt(dur(), '10s'),
  clientHelloTimeout: dflt(dur(), '10s'),
  maxClientHelloBytes: dflt(int({ min: 1024, max: 1048576 }), 65536),
  http2MaxConcurrentStreams: dflt(int({ min: 1, max: 10000 }), 100),
  maxConnectionsPerEntrypoint: dflt(int({ min: 0 }), 0),
  udpMaxSessions: dflt(int({ min: 1 }), 4096),
});

const redisUrl = (v: string): string | undefined =>
  /^rediss?:\/\/[^/]/.test(v) ? undefined : `"${v}" is not a redis:// or rediss:// URL`;

/** `fleet`: several berth hosts sharing certificates, order leases and challenge answers through Redis (SPEC §13). */
export const fleetSchema = obj({
  /** `redis://[:password@]host:port/db` or `rediss://…`; the master's address without Sentinel. */
  redis: str({ check: redisUrl }),
  /** Redis Sentinel addresses (`host:port`); with `masterName`. */
  sentinels: list(str()),
  masterName: str(),
  /** This host's name in the fleet. Default: the host name. */
  node: str({ check: dnsLabel }),
  /** 32-byte key (raw, hex or base64) that encrypts private keys stored in Redis (AES-256-GCM). */
  encryptionKeyFile: str(),
  /** Where the other hosts send requests for the host names this host's containers hold (`http://10.0.0.5:80`). */
  relayUrl: str({
    check: (v) =>
      /^https?:\/\/[^/]+\/?$/.test(v) ? undefined : `"${v}" is not an http:// or https:// URL without a path`,
  }),
  /** How long an order lease lasts without renewal. */
  leaseDuration: dflt(dur(), '30s'),
  /** How often a host reconciles with Redis without waiting for a notification. */
  syncInterval: dflt(dur(), '30s'),
});

/** `workers`: worker processes of the data plane; `auto` is one per core. */
export const workersSchema = dflt(custom('"auto" or a number', decodeWorkers), 'auto');
