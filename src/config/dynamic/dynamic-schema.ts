/**
 * The schema of Traefik v3's dynamic configuration, mirroring `types.ts`. Routers, services,
 * middlewares, servers transports, TLS certificates, options and stores are *elements*: a bad one is
 * dropped alone. Keys Traefik has but berth does not implement are listed as `ignored` (a warning,
 * the element stays).
 */
import type { Field, ObjectSchema, Schema } from './schema.ts';
import { HTTP_MIDDLEWARE_TYPES, TCP_MIDDLEWARE_TYPES, middlewareIndex } from './middleware-types.ts';

const str: Schema = { kind: 'string' };
const dur: Schema = { kind: 'duration' };
const int: Schema = { kind: 'int' };
const num: Schema = { kind: 'number' };
const bool: Schema = { kind: 'bool' };
const strList: Schema = { kind: 'stringList' };
const empty: Schema = { kind: 'empty' };

const opt = (schema: Schema): Field => ({ schema });
const req = (schema: Schema): Field => ({ schema, required: true });

function obj(fields: Record<string, Field>, extra: Omit<ObjectSchema, 'kind' | 'fields'> = {}): ObjectSchema {
  return { kind: 'object', fields, ...extra };
}
const list = (of: Schema): Schema => ({ kind: 'list', of });
const elements = (of: Schema): Schema => ({ kind: 'map', of, elements: true });

/** A service must have exactly one of the given kinds, as Traefik requires. */
function exactlyOne(kinds: readonly string[]): (v: Record<string, unknown>) => string | undefined {
  return (v) => {
    const present = kinds.filter((k) => v[k] !== undefined);
    if (present.length === 1) return undefined;
    if (present.length === 0) return `no service type defined (expected one of: ${kinds.join(', ')})`;
    return `only one service type is allowed, got ${present.join(' and ')}; declare separate services instead`;
  };
}

const tlsDomain = obj({ main: req(str), sans: opt(strList) });

const stickyCookie = obj({
  name: opt(str), secure: opt(bool), httpOnly: opt(bool), sameSite: opt(str), maxAge: opt(int), path: opt(str),
}, { ignored: ['domain'] });
const sticky = obj({ cookie: opt(stickyCookie) });

const healthCheck = obj({
  scheme: opt(str), mode: opt(str), path: opt(str), method: opt(str), status: opt(int), port: opt(int),
  interval: opt(dur), unhealthyInterval: opt(dur), timeout: opt(dur), hostname: opt(str), followRedirects: opt(bool),
  headers: opt({ kind: 'stringMap' }),
});

const weightedServices = list(obj({ name: req(str), weight: opt(int) }));

const httpRouter = obj({
  entryPoints: opt(strList), rule: req(str), ruleSyntax: opt(str), priority: opt(int), middlewares: opt(strList),
  service: req(str),
  tls: opt(obj({ options: opt(str), certResolver: opt(str), domains: opt(list(tlsDomain)) }, { acceptBool: true })),
  observability: opt(obj({ accessLogs: opt(bool), metrics: opt(bool), tracing: opt(bool) }, { ignored: ['traceVerbosity'] })),
});

const httpService = obj({
  loadBalancer: opt(obj({
    servers: opt(list(obj({ url: req(str), weight: opt(int), preservePath: opt(bool) }))),
    sticky: opt(sticky),
    healthCheck: opt(healthCheck),
    passHostHeader: opt(bool),
    responseForwarding: opt(obj({ flushInterval: opt(dur) })),
    serversTransport: opt(str),
    strategy: opt(str),
  }, { ignored: ['passiveHealthCheck'] })),
  weighted: opt(obj({ services: opt(weightedServices), sticky: opt(sticky), healthCheck: opt(empty) })),
  mirroring: opt(obj({
    service: req(str), mirrorBody: opt(bool), maxBodySize: opt(int), mirrors: opt(list(obj({ name: req(str), percent: opt(num) }))), healthCheck: opt(empty),
  })),
  failover: opt(obj({ service: req(str), fallback: req(str), healthCheck: opt(empty) })),
}, { check: exactlyOne(['loadBalancer', 'weighted', 'mirroring', 'failover']) });

const certPair = obj({ certFile: req(str), keyFile: req(str) });

const serversTransport = obj({
  serverName: opt(str), insecureSkipVerify: opt(bool), rootCAs: opt(strList), certificates: opt(list(certPair)),
  maxIdleConnsPerHost: opt(int),
  forwardingTimeouts: opt(obj({
    dialTimeout: opt(dur), responseHeaderTimeout: opt(dur), idleConnTimeout: opt(dur), readIdleTimeout: opt(dur), pingTimeout: opt(dur),
  })),
  disableHTTP2: opt(bool), peerCertURI: opt(str),
}, { ignored: ['spiffe'] });

const tcpRouter = obj({
  entryPoints: opt(strList), rule: req(str), ruleSyntax: opt(str), priority: opt(int), middlewares: opt(strList),
  service: req(str),
  tls: opt(obj({ passthrough: opt(bool), options: opt(str), certResolver: opt(str), domains: opt(list(tlsDomain)) }, { acceptBool: true })),
});

const tcpService = obj({
  loadBalancer: opt(obj({
    servers: opt(list(obj({ address: req(str), tls: opt(bool), weight: opt(int) }))),
    proxyProtocol: opt(obj({ version: opt(int) })),
    serversTransport: opt(str),
    terminationDelay: opt(int),
  })),
  weighted: opt(obj({ services: opt(weightedServices) })),
}, { check: exactlyOne(['loadBalancer', 'weighted']) });

const tcpServersTransport = obj({
  dialTimeout: opt(dur), dialKeepAlive: opt(dur), terminationDelay: opt(dur),
  tls: opt(obj({ serverName: opt(str), insecureSkipVerify: opt(bool), rootCAs: opt(strList) }, { ignored: ['certificates', 'peerCertURI', 'spiffe'] })),
}, { ignored: ['proxyProtocol'] });

const udpRouter = obj({ entryPoints: opt(strList), service: req(str) });

const udpService = obj({
  loadBalancer: opt(obj({ servers: opt(list(obj({ address: req(str), weight: opt(int) }))) })),
  weighted: opt(obj({ services: opt(weightedServices) })),
}, { check: exactlyOne(['loadBalancer', 'weighted']) });

const tlsOptions = obj({
  minVersion: opt(str), maxVersion: opt(str), cipherSuites: opt(strList), curvePreferences: opt(strList),
  clientAuth: opt(obj({ caFiles: opt(strList), clientAuthType: opt(str) })),
  sniStrict: opt(bool), alpnProtocols: opt(strList), preferServerCipherSuites: opt(bool),
}, { ignored: ['disableSessionTickets'] });

const tlsStore = obj({
  defaultCertificate: opt(certPair),
  defaultGeneratedCert: opt(obj({ resolver: req(str), domain: opt(tlsDomain) })),
});

/** The whole document: sections are lenient, elements are dropped alone. */
export const DYNAMIC_CONFIG_SCHEMA: ObjectSchema = obj({
  http: opt(obj({
    routers: opt(elements(httpRouter)),
    services: opt(elements(httpService)),
    middlewares: opt(elements({ kind: 'middleware', types: middlewareIndex(HTTP_MIDDLEWARE_TYPES) })),
    serversTransports: opt(elements(serversTransport)),
  }, { section: true })),
  tcp: opt(obj({
    routers: opt(elements(tcpRouter)),
    services: opt(elements(tcpService)),
    middlewares: opt(elements({ kind: 'middleware', types: middlewareIndex(TCP_MIDDLEWARE_TYPES) })),
    serversTransports: opt(elements(tcpServersTransport)),
  }, { section: true })),
  udp: opt(obj({ routers: opt(elements(udpRouter)), services: opt(elements(udpService)) }, { section: true })),
  tls: opt(obj({
    certificates: opt({ kind: 'list', of: obj({ certFile: req(str), keyFile: req(str), stores: opt(strList) }), elements: true }),
    options: opt(elements(tlsOptions)),
    stores: opt(elements(tlsStore)),
  }, { section: true })),
}, { section: true });
