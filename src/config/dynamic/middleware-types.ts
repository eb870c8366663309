/**
 * Traefik v3's middleware type names and their top-level option names, used to canonicalise the case
 * of user input (`BasicAuth: { Users: … }` → `basicAuth: { users: … }`). Options themselves are
 * validated by the middleware builders; an unknown option name is passed through as given.
 */

type TypeTable = Readonly<Record<string, readonly string[]>>;

const AUTH_OPTIONS = ['users', 'usersFile', 'realm', 'removeHeader', 'headerField'] as const;

/** HTTP middleware types → top-level option names. */
export const HTTP_MIDDLEWARE_TYPES: TypeTable = {
  addPrefix: ['prefix'],
  basicAuth: AUTH_OPTIONS,
  digestAuth: AUTH_OPTIONS,
  buffering: ['maxRequestBodyBytes', 'memRequestBodyBytes', 'maxResponseBodyBytes', 'memResponseBodyBytes', 'retryExpression'],
  chain: ['middlewares'],
  circuitBreaker: ['expression', 'checkPeriod', 'fallbackDuration', 'recoveryDuration', 'responseCode'],
  compress: ['excludedContentTypes', 'includedContentTypes', 'minResponseBodyBytes', 'defaultEncoding', 'encodings'],
  contentType: ['autoDetect'],
  errors: ['status', 'service', 'query', 'statusRewrites'],
  forwardAuth: [
    'address', 'tls', 'trustForwardHeader', 'authResponseHeaders', 'authResponseHeadersRegex', 'authRequestHeaders',
    'addAuthCookiesToResponse', 'headerField', 'forwardBody', 'maxBodySize', 'preserveLocationHeader', 'preserveRequestMethod',
  ],
  grpcWeb: ['allowOrigins'],
  headers: [
    'customRequestHeaders', 'customResponseHeaders', 'accessControlAllowCredentials', 'accessControlAllowHeaders',
    'accessControlAllowMethods', 'accessControlAllowOriginList', 'accessControlAllowOriginListRegex',
    'accessControlExposeHeaders', 'accessControlMaxAge', 'addVaryHeader', 'allowedHosts', 'hostsProxyHeaders',
    'sslProxyHeaders', 'stsSeconds', 'stsIncludeSubdomains', 'stsPreload', 'forceSTSHeader', 'frameDeny',
    'customFrameOptionsValue', 'contentTypeNosniff', 'browserXssFilter', 'customBrowserXSSValue', 'contentSecurityPolicy',
    'contentSecurityPolicyReportOnly', 'publicKey', 'referrerPolicy', 'permissionsPolicy', 'featurePolicy', 'isDevelopment',
    'sslRedirect', 'sslTemporaryRedirect', 'sslHost', 'sslForceHost',
  ],
  ipAllowList: ['sourceRange', 'ipStrategy', 'rejectStatusCode'],
  ipWhiteList: ['sourceRange', 'ipStrategy'],
  inFlightReq: ['amount', 'sourceCriterion'],
  passTLSClientCert: ['pem', 'info'],
  plugin: [],
  rateLimit: ['average', 'period', 'burst', 'sourceCriterion', 'redis'],
  redirectRegex: ['regex', 'replacement', 'permanent'],
  redirectScheme: ['scheme', 'port', 'permanent'],
  replacePath: ['path'],
  replacePathRegex: ['regex', 'replacement'],
  retry: ['attempts', 'initialInterval'],
  stripPrefix: ['prefixes', 'forceSlash'],
  stripPrefixRegex: ['regex'],
};

/** TCP middleware types → top-level option names. */
export const TCP_MIDDLEWARE_TYPES: TypeTable = {
  inFlightConn: ['amount'],
  ipAllowList: ['sourceRange'],
  ipWhiteList: ['sourceRange'],
};

/** Lower-cased type → canonical type and a lower-cased option index, as the schema walker wants it. */
export function middlewareIndex(table: TypeTable): Map<string, { name: string; options: Map<string, string> }> {
  const out = new Map<string, { name: string; options: Map<string, string> }>();
  for (const [name, options] of Object.entries(table)) {
    out.set(name.toLowerCase(), { name, options: new Map(options.map((o) => [o.toLowerCase(), o])) });
  }
  return out;
}
