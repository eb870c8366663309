/**
 * Traefik v3.7's `providers` and `certificatesResolvers`, key for key, with Traefik's defaults and
 * berth's `providers.docker.endpoints`. Providers berth does not start are accepted (and warned).
 */
import { bool, dflt, dur, fill, free, int, list, obj, oneOf, rec, req, str, toggle, withMeta } from '../schema/kit.ts';

const httpUrl = (v: string): string | undefined =>
  /^https?:\/\/[^\s/]+/i.test(v) ? undefined : `"${v}" is not an http:// or https:// URL`;

/** Docker endpoints: unix sockets (globs allowed, berth), tcp/http(s) daemons (no globs). */
export function checkDockerEndpoint(v: string): string | undefined {
  const m = /^([a-z]+):\/\/(.+)$/i.exec(v);
  const scheme = m?.[1]?.toLowerCase();
  if (!m || !['unix', 'tcp', 'http', 'https'].includes(scheme!)) {
    return `"${v}" is not a Docker endpoint (expected unix:///path/docker.sock, tcp://host:port or a glob of unix sockets)`;
  }
  if (scheme !== 'unix' && /[*?[]/.test(m[2]!)) return `globs are only supported for unix:// sockets, got "${v}"`;
  if (scheme === 'unix' && !m[2]!.startsWith('/')) return `unix socket path must be absolute, got "${v}"`;
  return undefined;
}

const tlsClient = obj({ ca: str(), caOptional: bool(), cert: str(), key: str(), insecureSkipVerify: bool() });

/** `providers`: docker (with berth's `endpoints`), file, http; the others are accepted and not started. */
export const providersSchema = obj({
  providersThrottleDuration: fill(dur(), '2s'),
  docker: toggle({
    endpoint: str({ check: checkDockerEndpoint }),
    endpoints: list(str({ check: checkDockerEndpoint })),
    tls: tlsClient,
    username: str(),
    password: str(),
    exposedByDefault: dflt(bool(), true),
    network: str(),
    defaultRule: dflt(str(), 'Host(`{{ normalize .Name }}`)'),
    constraints: str(),
    useBindPortIP: fill(bool(), false),
    allowEmptyServices: fill(bool(), false),
    watch: fill(bool(), true),
    httpClientTimeout: dur(),
    rescanInterval: fill(dur(), '5s'),
  }),
  file: obj({ filename: str(), directory: str(), watch: dflt(bool(), true), debugLogGeneratedTemplate: bool() }),
  http: obj({
    endpoint: req(str({ check: httpUrl })),
    pollInterval: dflt(dur(), '5s'),
    pollTimeout: dflt(dur(), '5s'),
    headers: rec(str({ fromNumber: true })),
    tls: tlsClient,
  }),
  swarm: free(),
  kubernetesCRD: free(),
  kubernetesIngress: free(),
  kubernetesGateway: free(),
  kubernetesIngressNGINX: free(),
  knative: free(),
  consul: free(),
  consulCatalog: free(),
  nomad: free(),
  ecs: free(),
  etcd: free(),
  redis: free(),
  zooKeeper: free(),
  rest: free(),
  plugin: free(),
});

/** lego names of the DNS-01 providers berth implements (src/dns/providers.ts loads them). */
const DNS_PROVIDERS = ['cloudflare', 'rfc2136', 'exec', 'httpreq', 'acme-dns', 'acmedns'];
const knownDnsProvider = (v: string): string | undefined =>
  DNS_PROVIDERS.includes(v.toLowerCase())
    ? undefined
    : `unsupported DNS provider "${v}": berth implements ${DNS_PROVIDERS.slice(0, -1).join(', ')}`;

const delay = dur();

/** `certificatesResolvers.<name>`. */
export const certResolverSchema = obj({
  acme: req(
    obj({
      email: str(),
      storage: dflt(str(), 'acme.json'),
      caServer: fill(str({ check: httpUrl }), 'https://acme-v02.api.letsencrypt.org/directory'),
      certificatesDuration: fill(int({ min: 1 }), 2160),
      keyType: fill(oneOf(['EC256', 'EC384', 'RSA2048', 'RSA4096', 'RSA8192']), 'RSA4096'),
      caCertificates: list(str()),
      caSystemCertPool: bool(),
      caServerName: str(),
      preferredChain: str(),
      profile: str(),
      emailAddresses: list(str()),
      disableCommonName: bool(),
      certificateTimeout: dur(),
      clientTimeout: dur(),
      clientResponseHeaderTimeout: dur(),
      eab: obj({ kid: req(str()), hmacEncoded: req(str()) }),
      dnsChallenge: obj({
        provider: req(str({ check: knownDnsProvider })),
        resolvers: list(str()),
        propagation: obj({
          delayBeforeChecks: dur(),
          disableChecks: bool(),
          requireAllRNS: bool(),
          disableANSChecks: bool(),
        }),
        delayBeforeCheck: withMeta(dur(), { deprecated: 'use propagation.delayBeforeChecks' }),
        disablePropagationCheck: withMeta(bool(), { deprecated: 'use propagation.disableChecks' }),
      }),
      httpChallenge: obj({ entryPoint: req(str()), delay }),
      tlsChallenge: toggle({ delay }),
    }),
  ),
  tailscale: free(),
});
