/**
 * The one declaration of the static configuration (`berth.yaml`, a Traefik `traefik.yml` or
 * `traefik.toml`, Traefik's CLI flags or `TRAEFIK_*` variables): Traefik v3.7's keys with their
 * names, types and defaults, plus berth's own (`edge`, `providers.docker.endpoints`, `api.listen`,
 * `workers`, `limits`). The types in `types.ts` are inferred from it; `decode.ts` walks it.
 */
import { RULE_SYNTAXES } from '../rule-syntax.ts';
import { dflt, free, obj, oneOf, rec } from '../schema/kit.ts';
import { edgeSchema, fleetSchema, limitsSchema, workersSchema } from './edge-schema.ts';
import { entryPointSchema } from './entrypoint-schema.ts';
import {
  accessLogSchema,
  apiSchema,
  globalSchema,
  logSchema,
  metricsSchema,
  pingSchema,
  staticServersTransportSchema,
} from './observability-schema.ts';
import { certResolverSchema, providersSchema } from './providers-schema.ts';

const dynamic = 'dynamic configuration: put it in a file read by providers.file';

/** The whole static configuration. */
export const staticConfigSchema = obj(
  {
    entryPoints: dflt(rec(entryPointSchema), {}),
    providers: dflt(providersSchema, {}),
    certificatesResolvers: dflt(rec(certResolverSchema), {}),
    api: dflt(apiSchema, {}),
    log: dflt(logSchema, {}),
    accessLog: accessLogSchema,
    metrics: metricsSchema,
    ping: pingSchema,
    serversTransport: dflt(staticServersTransportSchema, {}),
    global: globalSchema,
    edge: dflt(edgeSchema, {}),
    workers: workersSchema,
    limits: dflt(limitsSchema, {}),
    fleet: fleetSchema,
    tracing: free(),
    experimental: free(),
    hostResolver: free(),
    core: obj({ defaultRuleSyntax: oneOf(RULE_SYNTAXES) }),
    ocsp: free(),
    spiffe: free(),
    tcpServersTransport: free(),
  },
  { hints: { http: dynamic, tcp: dynamic, udp: dynamic, tls: dynamic } },
);
