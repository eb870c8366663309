/**
 * The shape of Traefik's dynamic configuration as Docker labels address it: every field's canonical
 * (camelCase) name and the type its string value converts to. Label paths are matched against this
 * tree case-insensitively, so `stsseconds` lands on `stsSeconds`.
 */

/** How one label value (or a group of labels under a prefix) becomes configuration. */
export type FieldType =
  | { readonly kind: 'string' }
  | { readonly kind: 'int'; readonly min?: number; readonly max?: number }
  | { readonly kind: 'float' }
  | { readonly kind: 'bool' }
  | { readonly kind: 'duration' }
  /** Comma-separated strings (`entrypoints=web,websecure`). */
  | { readonly kind: 'list' }
  /** Comma-separated integers (`errors.status=500,502-504` stays strings in Traefik; this is for ints). */
  | { readonly kind: 'intList' }
  /** `prefix.<Key>=value`: keys keep the user's case (header names). */
  | { readonly kind: 'map' }
  /** Free-form nested options (plugins): keys keep the user's case, values stay strings. */
  | { readonly kind: 'any' }
  | ObjectType
  /** `prefix[0].field=…`: a list of objects addressed by index. */
  | { readonly kind: 'array'; readonly of: ObjectType };

/** A struct: canonical field names, looked up by their lower-case form. */
export interface ObjectType {
  readonly kind: 'object';
  /** lower-case label segment → canonical name and type. */
  readonly fields: ReadonlyMap<string, { readonly name: string; readonly type: FieldType }>;
  /** `prefix=true` alone creates the empty object (Traefik's `label:"allowEmpty"`). */
  readonly allowEmpty?: boolean;
}

type Spec = FieldType | 'string' | 'int' | 'float' | 'bool' | 'duration' | 'list' | 'intList' | 'map' | 'any' | 'port';

function toType(spec: Spec): FieldType {
  if (typeof spec !== 'string') return spec;
  if (spec === 'port') return { kind: 'int', min: 1, max: 65535 };
  return { kind: spec } as FieldType;
}

/** Builds an object type from canonical field names. */
export function obj(fields: Record<string, Spec>, allowEmpty = false): ObjectType {
  const map = new Map<string, { name: string; type: FieldType }>();
  for (const [name, spec] of Object.entries(fields)) map.set(name.toLowerCase(), { name, type: toType(spec) });
  return allowEmpty ? { kind: 'object', fields: map, allowEmpty } : { kind: 'object', fields: map };
}

/** An indexed list of objects. */
export function arr(of: ObjectType): FieldType {
  return { kind: 'array', of };
}

const domains = arr(obj({ main: 'string', sans: 'list' }));

const ipStrategy = obj({ depth: 'int', excludedIPs: 'list', ipv6Subnet: 'int' });
const sourceCriterion = obj({ ipStrategy, requestHeaderName: 'string', requestHost: 'bool' });
const clientTls = obj({ ca: 'string', cert: 'string', key: 'string', insecureSkipVerify: 'bool', caOptional: 'bool' });
const certInfo = obj({
  country: 'bool', province: 'bool', locality: 'bool', organization: 'bool', organizationalUnit: 'bool',
  commonName: 'bool', serialNumber: 'bool', domainComponent: 'bool',
}, true);

/** Traefik v3's HTTP middlewares and their options, by canonical type name. */
export const HTTP_MIDDLEWARES: ObjectType = obj({
  addPrefix: obj({ prefix: 'string' }, true),
  basicAuth: obj({ users: 'list', usersFile: 'string', realm: 'string', removeHeader: 'bool', headerField: 'string' }, true),
  digestAuth: obj({ users: 'list', usersFile: 'string', realm: 'string', removeHeader: 'bool', headerField: 'string' }, true),
  buffering: obj({
    maxRequestBodyBytes: 'int', memRequestBodyBytes: 'int', maxResponseBodyBytes: 'int', memResponseBodyBytes: 'int',
    retryExpression: 'string',
  }, true),
  chain: obj({ middlewares: 'list' }, true),
  circuitBreaker: obj({
    expression: 'string', checkPeriod: 'duration', fallbackDuration: 'duration', recoveryDuration: 'duration', responseCode: 'int',
  }, true),
  compress: obj({
    excludedContentTypes: 'list', includedContentTypes: 'list', minResponseBodyBytes: 'int', defaultEncoding: 'string', encodings: 'list',
  }, true),
  contentType: obj({ autoDetect: 'bool' }, true),
  errors: obj({ status: 'list', service: 'string', query: 'string', statusRewrites: 'map' }, true),
  forwardAuth: obj({
    address: 'string', tls: clientTls, trustForwardHeader: 'bool', authResponseHeaders: 'list', authResponseHeadersRegex: 'string',
    authRequestHeaders: 'list', addAuthCookiesToResponse: 'list', headerField: 'string', forwardBody: 'bool', maxBodySize: 'int',
    preserveLocationHeader: 'bool', preserveRequestMethod: 'bool',
  }, true),
  grpcWeb: obj({ allowOrigins: 'list' }, true),
  headers: obj({
    customRequestHeaders: 'map', customResponseHeaders: 'map',
    accessControlAllowCredentials: 'bool', accessControlAllowHeaders: 'list', accessControlAllowMethods: 'list',
    accessControlAllowOriginList: 'list', accessControlAllowOriginListRegex: 'list', accessControlExposeHeaders: 'list',
    accessControlMaxAge: 'int', addVaryHeader: 'bool', allowedHosts: 'list', hostsProxyHeaders: 'list', sslProxyHeaders: 'map',
    stsSeconds: 'int', stsIncludeSubdomains: 'bool', stsPreload: 'bool', forceSTSHeader: 'bool', frameDeny: 'bool',
    customFrameOptionsValue: 'string', contentTypeNosniff: 'bool', browserXssFilter: 'bool', customBrowserXSSValue: 'string',
    contentSecurityPolicy: 'string', contentSecurityPolicyReportOnly: 'string', publicKey: 'string', referrerPolicy: 'string',
    permissionsPolicy: 'string', featurePolicy: 'string', isDevelopment: 'bool',
  }, true),
  ipAllowList: obj({ sourceRange: 'list', ipStrategy, rejectStatusCode: 'int' }, true),
  ipWhiteList: obj({ sourceRange: 'list', ipStrategy }, true),
  inFlightReq: obj({ amount: 'int', sourceCriterion }, true),
  passTLSClientCert: obj({
    pem: 'bool',
    info: obj({ notAfter: 'bool', notBefore: 'bool', sans: 'bool', serialNumber: 'bool', subject: certInfo, issuer: certInfo }, true),
  }, true),
  rateLimit: obj({ average: 'int', period: 'duration', burst: 'int', sourceCriterion }, true),
  redirectRegex: obj({ regex: 'string', replacement: 'string', permanent: 'bool' }, true),
  redirectScheme: obj({ scheme: 'string', port: 'string', permanent: 'bool' }, true),
  replacePath: obj({ path: 'string' }, true),
  replacePathRegex: obj({ regex: 'string', replacement: 'string' }, true),
  retry: obj({ attempts: 'int', initialInterval: 'duration' }, true),
  stripPrefix: obj({ prefixes: 'list', forceSlash: 'bool' }, true),
  stripPrefixRegex: obj({ regex: 'list' }, true),
  plugin: 'any',
});

/** TCP middlewares. */
export const TCP_MIDDLEWARES: ObjectType = obj({
  inFlightConn: obj({ amount: 'int' }, true),
  ipAllowList: obj({ sourceRange: 'list' }, true),
  ipWhiteList: obj({ sourceRange: 'list' }, true),
});

const healthCheck = obj({
  scheme: 'string', mode: 'string', path: 'string', method: 'string', status: 'int', port: 'port', interval: 'duration',
  unhealthyInterval: 'duration', timeout: 'duration', hostname: 'string', followRedirects: 'bool', headers: 'map',
});
const sticky = obj({
  cookie: obj({ name: 'string', secure: 'bool', httpOnly: 'bool', sameSite: 'string', maxAge: 'int', path: 'string', domain: 'string' }, true),
}, true);
const weightedServices = arr(obj({ name: 'string', weight: 'int' }));

/** Element types under `traefik.<protocol>.<section>.<name>.`. */
export const ELEMENT_SCHEMAS = {
  http: {
    routers: obj({
      entryPoints: 'list', middlewares: 'list', service: 'string', rule: 'string', ruleSyntax: 'string', priority: 'int',
      tls: obj({ options: 'string', certResolver: 'string', domains }, true),
      observability: obj({ accessLogs: 'bool', metrics: 'bool', tracing: 'bool', traceVerbosity: 'string' }, true),
    }),
    services: obj({
      loadBalancer: obj({
        // Traefik's `label-slice-as-struct:"server"`: one server per container, addressed in the singular.
        server: obj({ port: 'port', scheme: 'string', weight: 'int', preservePath: 'bool' }),
        sticky, healthCheck, passiveHealthCheck: obj({ failureWindow: 'duration', maxFailedAttempts: 'int' }),
        passHostHeader: 'bool', responseForwarding: obj({ flushInterval: 'duration' }),
        serversTransport: 'string', strategy: 'string',
      }, true),
      weighted: obj({ services: weightedServices, sticky, healthCheck: obj({}, true) }),
      mirroring: obj({
        service: 'string', maxBodySize: 'int', mirrorBody: 'bool', mirrors: arr(obj({ name: 'string', percent: 'int' })),
        healthCheck: obj({}, true),
      }),
      failover: obj({ service: 'string', fallback: 'string', healthCheck: obj({}, true) }),
    }),
    middlewares: HTTP_MIDDLEWARES,
    serverstransports: obj({
      serverName: 'string', insecureSkipVerify: 'bool', rootCAs: 'list',
      certificates: arr(obj({ certFile: 'string', keyFile: 'string' })), maxIdleConnsPerHost: 'int',
      forwardingTimeouts: obj({
        dialTimeout: 'duration', responseHeaderTimeout: 'duration', idleConnTimeout: 'duration', readIdleTimeout: 'duration',
        pingTimeout: 'duration',
      }),
      disableHTTP2: 'bool', peerCertURI: 'string', spiffe: obj({ ids: 'list', trustDomain: 'string' }),
    }),
  },
  tcp: {
    routers: obj({
      entryPoints: 'list', middlewares: 'list', service: 'string', rule: 'string', ruleSyntax: 'string', priority: 'int',
      tls: obj({ passthrough: 'bool', options: 'string', certResolver: 'string', domains }, true),
    }),
    services: obj({
      loadBalancer: obj({
        server: obj({ port: 'port', tls: 'bool', weight: 'int' }),
        proxyProtocol: obj({ version: 'int' }, true), serversTransport: 'string', terminationDelay: 'int',
      }, true),
      weighted: obj({ services: weightedServices }),
    }),
    middlewares: TCP_MIDDLEWARES,
    serverstransports: obj({
      dialTimeout: 'duration', dialKeepAlive: 'duration', terminationDelay: 'duration',
      tls: obj({ serverName: 'string', insecureSkipVerify: 'bool', rootCAs: 'list', peerCertURI: 'string' }, true),
    }),
  },
  udp: {
    routers: obj({ entryPoints: 'list', service: 'string' }),
    services: obj({
      loadBalancer: obj({ server: obj({ port: 'port' }) }, true),
      weighted: obj({ services: weightedServices }),
    }),
  },
} as const;

/** Canonical section names in the dynamic configuration (`serverstransports` → `serversTransports`). */
export const SECTION_NAMES: Readonly<Record<string, string>> = {
  routers: 'routers', services: 'services', middlewares: 'middlewares', serverstransports: 'serversTransports',
};

/** `traefik.tls.stores.default.*`: the only TLS labels Traefik v3 accepts (the default store). */
export const TLS_DEFAULT_STORE: ObjectType = obj({
  defaultGeneratedCert: obj({ resolver: 'string', domain: obj({ main: 'string', sans: 'list' }) }),
});
