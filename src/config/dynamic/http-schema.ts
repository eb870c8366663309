/**
 * Traefik v3.7's HTTP routers, services and servers transports, key for key. Routers, services,
 * middlewares and transports are elements: a bad one is dropped alone.
 */
import type * as v from 'valibot';
import {
  bool,
  dur,
  elements,
  int,
  list,
  obj,
  oneOf,
  port,
  rec,
  req,
  str,
  toggle,
  v as valibot,
  withMeta,
} from '../schema/kit.ts';

/** A list of names: entrypoints, middlewares. */
export const names = list(str());

/** `tls.domains` of routers and stores. */
export const tlsDomain = obj({ main: req(str()), sans: names });

/** A certificate and its key: a path or the PEM itself, as in Traefik. */
export const certPair = obj({ certFile: req(str()), keyFile: req(str()) });

/** The SPIFFE identities a transport accepts. */
export const spiffe = obj({ ids: names, trustDomain: str() });

/** A service must have exactly one of the given kinds, as Traefik requires. */
export function exactlyOneKind<T extends object>(
  kinds: readonly (keyof T & string)[],
): v.CheckAction<T, v.ErrorMessage<v.CheckIssue<T>>> {
  return valibot.check(
    (value: T) => kinds.filter((k) => value[k] !== undefined).length === 1,
    (issue) => {
      const present = kinds.filter((k) => (issue.input as T)[k] !== undefined);
      return present.length === 0
        ? `no service type defined (expected one of: ${kinds.join(', ')})`
        : `only one service type is allowed, got ${present.join(' and ')}; declare separate services instead`;
    },
  );
}

/** The fields HTTP and TCP routers share. */
export const routerFields = {
  entryPoints: names,
  middlewares: names,
  service: req(str()),
  rule: req(str()),
  /** Which rule language `rule` is written in; unset: the static `core.defaultRuleSyntax`. */
  ruleSyntax: str(),
  priority: int(),
};

const routerTls = toggle({ options: str(), certResolver: str(), domains: list(tlsDomain) });

/** `http.routers.<name>`. */
export const httpRouterSchema = obj({
  ...routerFields,
  tls: routerTls,
  observability: toggle({
    accessLogs: bool(),
    metrics: bool(),
    tracing: bool(),
    traceVerbosity: oneOf(['minimal', 'detailed']),
  }),
});

const stickyCookie = toggle({
  name: str(),
  secure: bool(),
  httpOnly: bool(),
  sameSite: str(),
  maxAge: int(),
  path: str(),
  domain: str(),
});
const sticky = toggle({ cookie: stickyCookie });

const healthCheck = toggle({
  scheme: str(),
  mode: str(),
  path: str(),
  method: str(),
  status: int({ min: 100, max: 599 }),
  port: port(),
  interval: dur(),
  unhealthyInterval: dur(),
  timeout: dur(),
  hostname: str(),
  followRedirects: bool(),
  headers: rec(str({ fromNumber: true })),
});

const serverFields = { url: str(), weight: int({ min: 0 }), preservePath: bool() };

/** A server in a file: its URL. */
const fileServer = obj({ ...serverFields, url: req(str()) });

/**
 * A server from labels (`loadbalancer.server.*`), one per container: its port and scheme on the
 * container's address, or — as Traefik v3.7 allows — a whole URL (v3.0 refused `server.url` in labels).
 */
export const labelHttpServer = obj({ ...serverFields, port: port(), scheme: str() });

/** The `servers` list, addressed as one `server` from labels. */
function servers<S extends v.GenericSchema>(file: S, label: v.GenericSchema): v.ArraySchema<S, undefined> {
  return withMeta(list(file), { label: { name: 'server', schema: label } });
}

/** `http.services.<name>`: exactly one of loadBalancer, weighted, mirroring, failover. */
export const httpServiceSchema = valibot.pipe(
  obj({
    loadBalancer: toggle({
      servers: servers(fileServer, labelHttpServer),
      sticky,
      healthCheck,
      passiveHealthCheck: toggle({ failureWindow: dur(), maxFailedAttempts: int({ min: 1 }) }),
      passHostHeader: bool(),
      responseForwarding: obj({ flushInterval: dur() }),
      serversTransport: str(),
      strategy: str(),
    }),
    weighted: obj({
      services: list(obj({ name: req(str()), weight: int({ min: 0 }) })),
      sticky,
      healthCheck: toggle({}),
    }),
    mirroring: obj({
      service: req(str()),
      mirrorBody: bool(),
      maxBodySize: int(),
      mirrors: list(obj({ name: req(str()), percent: int({ min: 0, max: 100 }) })),
      healthCheck: toggle({}),
    }),
    failover: obj({ service: req(str()), fallback: req(str()), healthCheck: toggle({}) }),
  }),
  exactlyOneKind(['loadBalancer', 'weighted', 'mirroring', 'failover']),
);

/** `http.serversTransports.<name>`. */
export const serversTransportSchema = obj({
  serverName: str(),
  insecureSkipVerify: bool(),
  rootCAs: names,
  certificates: list(certPair),
  maxIdleConnsPerHost: int(),
  forwardingTimeouts: obj({
    dialTimeout: dur(),
    responseHeaderTimeout: dur(),
    idleConnTimeout: dur(),
    readIdleTimeout: dur(),
    pingTimeout: dur(),
  }),
  disableHTTP2: bool(),
  peerCertURI: str(),
  spiffe,
});

/** `http.routers`: named routers, each dropped alone when bad. */
export const httpRouters = elements(httpRouterSchema);
/** `http.services`: named services, each dropped alone when bad. */
export const httpServices = elements(httpServiceSchema);
/** `http.serversTransports`: named transports, each dropped alone when bad. */
export const serversTransports = elements(serversTransportSchema);
