/**
 * Traefik v3.7's middlewares, key for key: the options of each type. A middleware definition holds
 * exactly one type. Every type can be switched on with defaults (`traefik.http.middlewares.x.contenttype=true`).
 */
import { bool, dur, elements, free, int, list, num, obj, rec, str, toggle, v } from '../schema/kit.ts';

const strs = list(str({ fromNumber: true }));
const headerMap = rec(str({ fromNumber: true }));

const auth = toggle({ users: strs, usersFile: str(), realm: str(), removeHeader: bool(), headerField: str() });
const ipStrategy = obj({ depth: int({ min: 0 }), excludedIPs: strs, ipv6Subnet: int({ min: 0, max: 128 }) });
const sourceCriterion = obj({ ipStrategy, requestHeaderName: str(), requestHost: bool() });
const clientTls = obj({ ca: str(), cert: str(), key: str(), insecureSkipVerify: bool(), caOptional: bool() });
const certInfo = toggle({
  country: bool(),
  province: bool(),
  locality: bool(),
  organization: bool(),
  organizationalUnit: bool(),
  commonName: bool(),
  serialNumber: bool(),
  domainComponent: bool(),
});

/** Traefik v3.7's HTTP middleware types and their options. */
const httpMiddlewareTypes = obj(
  {
    addPrefix: toggle({ prefix: str() }),
    basicAuth: auth,
    digestAuth: auth,
    buffering: toggle({
      maxRequestBodyBytes: int(),
      memRequestBodyBytes: int(),
      maxResponseBodyBytes: int(),
      memResponseBodyBytes: int(),
      retryExpression: str(),
    }),
    chain: toggle({ middlewares: strs }),
    circuitBreaker: toggle({
      expression: str(),
      checkPeriod: dur(),
      fallbackDuration: dur(),
      recoveryDuration: dur(),
      responseCode: int({ min: 100, max: 599 }),
    }),
    compress: toggle({
      excludedContentTypes: strs,
      includedContentTypes: strs,
      minResponseBodyBytes: int({ min: 0 }),
      defaultEncoding: str(),
      encodings: strs,
    }),
    contentType: toggle({ autoDetect: bool() }),
    errors: toggle({ status: strs, service: str(), query: str(), statusRewrites: headerMap }),
    forwardAuth: toggle({
      address: str(),
      tls: clientTls,
      trustForwardHeader: bool(),
      authResponseHeaders: strs,
      authResponseHeadersRegex: str(),
      authRequestHeaders: strs,
      addAuthCookiesToResponse: strs,
      headerField: str(),
      forwardBody: bool(),
      maxBodySize: int(),
      preserveLocationHeader: bool(),
      preserveRequestMethod: bool(),
      maxResponseBodySize: int(),
    }),
    grpcWeb: toggle({ allowOrigins: strs }),
    headers: toggle({
      customRequestHeaders: headerMap,
      customResponseHeaders: headerMap,
      accessControlAllowCredentials: bool(),
      accessControlAllowHeaders: strs,
      accessControlAllowMethods: strs,
      accessControlAllowOriginList: strs,
      accessControlAllowOriginListRegex: strs,
      accessControlExposeHeaders: strs,
      accessControlMaxAge: int(),
      addVaryHeader: bool(),
      allowedHosts: strs,
      hostsProxyHeaders: strs,
      stsSeconds: int({ min: 0 }),
      stsIncludeSubdomains: bool(),
      stsPreload: bool(),
      forceSTSHeader: bool(),
      frameDeny: bool(),
      customFrameOptionsValue: str(),
      contentTypeNosniff: bool(),
      browserXssFilter: bool(),
      customBrowserXSSValue: str(),
      contentSecurityPolicy: str(),
      contentSecurityPolicyReportOnly: str(),
      publicKey: str(),
      referrerPolicy: str(),
      permissionsPolicy: str(),
      featurePolicy: str(),
      isDevelopment: bool(),
      // Deprecated in v3 in favour of redirectScheme and the entrypoint's redirections, still accepted by v3.7.
      sslRedirect: bool(),
      sslTemporaryRedirect: bool(),
      sslHost: str(),
      sslForceHost: bool(),
      sslProxyHeaders: headerMap,
    }),
    ipAllowList: toggle({ sourceRange: strs, ipStrategy, rejectStatusCode: int({ min: 100, max: 599 }) }),
    ipWhiteList: toggle({ sourceRange: strs, ipStrategy }),
    inFlightReq: toggle({ amount: int({ min: 0 }), sourceCriterion }),
    passTLSClientCert: toggle({
      pem: bool(),
      info: toggle({
        notAfter: bool(),
        notBefore: bool(),
        sans: bool(),
        serialNumber: bool(),
        subject: certInfo,
        issuer: certInfo,
      }),
    }),
    rateLimit: toggle({
      average: num({ min: 0 }),
      period: dur(),
      burst: int({ min: 0 }),
      sourceCriterion,
      redis: obj({
        endpoints: strs,
        username: str(),
        password: str(),
        db: int({ min: 0 }),
        tls: clientTls,
        poolSize: int({ min: 0 }),
        minIdleConns: int({ min: 0 }),
        maxActiveConns: int({ min: 0 }),
        readTimeout: dur(),
        writeTimeout: dur(),
        dialTimeout: dur(),
      }),
    }),
    redirectRegex: toggle({ regex: str(), replacement: str(), permanent: bool() }),
    redirectScheme: toggle({ scheme: str(), port: str({ fromNumber: true }), permanent: bool() }),
    replacePath: toggle({ path: str() }),
    replacePathRegex: toggle({ regex: str(), replacement: str() }),
    retry: toggle({
      attempts: int({ min: 0 }),
      initialInterval: dur(),
      // Added after v3.0: a time budget, status codes to retry on, and the request bodies that may be replayed.
      timeout: dur(),
      status: strs,
      disableRetryOnNetworkError: bool(),
      maxRequestBodyBytes: int(),
      retryNonIdempotentMethod: bool(),
    }),
    stripPrefix: toggle({ prefixes: strs, forceSlash: bool() }),
    stripPrefixRegex: toggle({ regex: strs }),
    plugin: rec(free()),
  },
  { exactlyOne: 'middleware type' },
);

type Typed<S extends v.GenericSchema> = v.InferOutput<S> & Readonly<Record<string, Record<string, unknown>>>;

/**
 * An HTTP middleware: its declared type, also indexable by type name (the compiler looks the
 * factory up by the one key present).
 */
export const httpMiddlewareSchema = v.pipe(
  httpMiddlewareTypes,
  v.transform((m): Typed<typeof httpMiddlewareTypes> => m),
);

const tcpMiddlewareTypes = obj(
  {
    inFlightConn: toggle({ amount: int({ min: 0 }) }),
    ipAllowList: toggle({ sourceRange: strs }),
    ipWhiteList: toggle({ sourceRange: strs }),
  },
  { exactlyOne: 'middleware type' },
);

/** Traefik v3.7's TCP middleware types, indexable by type name as the HTTP ones. */
export const tcpMiddlewareSchema = v.pipe(
  tcpMiddlewareTypes,
  v.transform((m): Typed<typeof tcpMiddlewareTypes> => m),
);

/** `http.middlewares`: named definitions, each dropped alone when bad. */
export const httpMiddlewares = elements(httpMiddlewareSchema);
/** `tcp.middlewares`: named definitions, each dropped alone when bad. */
export const tcpMiddlewares = elements(tcpMiddlewareSchema);
