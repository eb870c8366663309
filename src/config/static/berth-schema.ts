/**
 * berth's own sections (`edge`, `workers`, `limits`) and the root schema of `berth.yaml`, which joins
 * them with the Traefik sections.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { bool, custom, describe, dur, int, list, map, obj, oneOf, str, type Schema } from './schema.ts';
import {
  apiSchema, certResolverSchema, entryPointSchema, ignoredSections, observabilitySchemas, providersSchema, transportSchemas,
} from './traefik-schema.ts';

/** Most ports a `dynamicPorts` range may span: each port is an entrypoint and a listening socket. */
export const MAX_DYNAMIC_PORTS = 1024;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/i;
const dnsLabel = (v: string): string | undefined => (LABEL.test(v) ? undefined : `"${v}" is not a valid DNS label (letters, digits, "-")`);
const domainName = (v: string): string | undefined =>
  v.length <= 253 && v.split('.').every((l) => LABEL.test(l)) ? undefined : `"${v}" is not a valid domain name`;
const ipv4 = (v: string): string | undefined => (isIPv4(v) ? undefined : `"${v}" is not an IPv4 address`);

const port = (o: { default?: number } = {}): Schema => int({ min: 1, max: 65535, ...o });

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
    const o = Object.fromEntries(Object.entries(v).map(([k, x]) => [k.toLowerCase(), x]));
    const extra = Object.keys(o).filter((k) => k !== 'from' && k !== 'to');
    if (extra.length > 0) return { error: `unknown key "${extra[0]}" in port range (expected from and to)` };
    from = o['from'];
    to = o['to'];
  } else return { error: 'expected a port range such as "10000-10010" or {from, to}' };
  const ok = (p: unknown): p is number => typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= 65535;
  if (!ok(from) || !ok(to)) return { error: 'port range bounds must be integers between 1 and 65535' };
  if (from > to) return { error: `port range starts after it ends (${from}-${to})` };
  if (to - from + 1 > MAX_DYNAMIC_PORTS) return { error: `port range too large (${to - from + 1} ports); at most ${MAX_DYNAMIC_PORTS}` };
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
export const edgeSchema: Schema = obj({
  machineName: str({ check: dnsLabel }),
  baseDomain: str({ check: domainName }),
  publicIPv4: str({ check: ipv4 }),
  publicIPv6: custom('an IPv6 address', decodeIPv6),
  autoRoutes: bool(true),
  certResolver: str(),
  dns: obj({ provider: oneOf(['cloudflare'], { required: true }), zoneId: str(), proxied: bool(false), ttl: int({ min: 1, max: 86400 }) }),
  tcpPorts: list(port(), { default: [] }),
  udpPorts: list(port(), { default: [] }),
  dynamicPorts: custom('a port range', decodePortRange, { default: '10000-10010' }),
  stateDir: str({ default: '/var/lib/berth' }),
  webPort: port({ default: 80 }),
  websecurePort: port({ default: 443 }),
}, { default: {} });

/** `limits`: see `LimitsConfig` for what each bound protects. */
export const limitsSchema: Schema = obj({
  maxHeaderBytes: int({ min: 1024, max: 1048576, default: 32768 }),
  maxHeaderCount: int({ min: 8, max: 10000, default: 200 }),
  headersTimeout: dur('30s'),
  handshakeTimeout: dur('10s'),
  clientHelloTimeout: dur('10s'),
  maxClientHelloBytes: int({ min: 1024, max: 1048576, default: 65536 }),
  http2MaxConcurrentStreams: int({ min: 1, max: 10000, default: 100 }),
  maxConnectionsPerEntrypoint: int({ min: 0, default: 0 }),
  udpMaxSessions: int({ min: 1, default: 4096 }),
}, { default: {} });

const redisUrl = (v: string): string | undefined => (/^rediss?:\/\/[^/]/.test(v) ? undefined : `"${v}" is not a redis:// or rediss:// URL`);

/** `fleet`: several berth hosts sharing certificates through Redis. */
export const fleetSchema: Schema = obj({
  redis: str({ check: redisUrl }),
  sentinels: list(str()),
  masterName: str(),
  node: str({ check: dnsLabel }),
  encryptionKeyFile: str(),
  leaseDuration: dur('30s'),
  syncInterval: dur('30s'),
});

const dynamic = 'dynamic configuration: put it in a file read by providers.file';
/** Top-level keys of Traefik's dynamic configuration, often pasted into the static file by mistake. */
const DYNAMIC_HINTS = { http: dynamic, tcp: dynamic, udp: dynamic, tls: dynamic };

/** The whole `berth.yaml`. */
export const staticConfigSchema: Schema = obj({
  entryPoints: map(entryPointSchema, { default: {} }),
  providers: providersSchema,
  certificatesResolvers: map(certResolverSchema, { default: {} }),
  api: apiSchema,
  ...observabilitySchemas,
  ...transportSchemas,
  edge: edgeSchema,
  workers: custom('"auto" or a number', decodeWorkers, { default: 'auto' }),
  limits: limitsSchema,
  fleet: fleetSchema,
  ...ignoredSections,
}, { hints: DYNAMIC_HINTS });
