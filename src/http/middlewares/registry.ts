import type { MiddlewareFactory } from './types.ts';
import { addPrefixFactory } from './add-prefix.ts';
import { basicAuthFactory } from './basic-auth.ts';
import { bufferingFactory } from './buffering.ts';
import { compressFactory } from './compress.ts';
import { contentTypeFactory } from './content-type.ts';
import { errorsFactory } from './errors.ts';
import { forwardAuthFactory } from './forward-auth.ts';
import { headersFactory } from './headers.ts';
import { inFlightReqFactory } from './in-flight-req.ts';
import { ipAllowListFactory } from './ip-allow-list.ts';
import { rateLimitFactory } from './rate-limit.ts';
import { redirectRegexFactory, redirectSchemeFactory } from './redirect.ts';
import { replacePathFactory, replacePathRegexFactory } from './replace-path.ts';
import { retryFactory } from './retry.ts';
import { stripPrefixFactory } from './strip-prefix.ts';
import { stripPrefixRegexFactory } from './strip-prefix-regex.ts';

/** A factory for a Traefik middleware type berth does not implement: always an option error. */
function unsupported(type: string, why: string): MiddlewareFactory {
  return () => ({ error: `${type}: not supported by berth (${why})` });
}

/**
 * Every HTTP middleware type berth knows, keyed by Traefik's type name as it appears in dynamic
 * configuration (`http.middlewares.<name>.<type>`). `chain` is absent on purpose: the compiler
 * expands chains itself. `ipWhiteList` is Traefik's deprecated name for `ipAllowList`.
 */
export const middlewareFactories: Readonly<Record<string, MiddlewareFactory>> = Object.freeze({
  addPrefix: addPrefixFactory,
  basicAuth: basicAuthFactory,
  buffering: bufferingFactory,
  compress: compressFactory,
  contentType: contentTypeFactory,
  errors: errorsFactory,
  forwardAuth: forwardAuthFactory,
  headers: headersFactory,
  inFlightReq: inFlightReqFactory,
  ipAllowList: ipAllowListFactory,
  ipWhiteList: ipAllowListFactory,
  rateLimit: rateLimitFactory,
  redirectRegex: redirectRegexFactory,
  redirectScheme: redirectSchemeFactory,
  replacePath: replacePathFactory,
  replacePathRegex: replacePathRegexFactory,
  retry: retryFactory,
  stripPrefix: stripPrefixFactory,
  stripPrefixRegex: stripPrefixRegexFactory,
  digestAuth: unsupported('digestAuth', 'use basicAuth or forwardAuth'),
  grpcWeb: unsupported('grpcWeb', 'gRPC-Web translation is out of scope'),
  passTLSClientCert: unsupported('passTLSClientCert', 'client certificates are not forwarded yet'),
  plugin: unsupported('plugin', 'Traefik plugins run only inside Traefik'),
});

/**
 * Looks a type name up case-insensitively, since Docker labels are often written in lower case
 * (`traefik.http.middlewares.x.stripprefix.prefixes`).
 */
export function findMiddlewareFactory(type: string): { type: string; factory: MiddlewareFactory } | undefined {
  const exact = middlewareFactories[type];
  if (exact) return { type, factory: exact };
  const lower = type.toLowerCase();
  for (const [name, factory] of Object.entries(middlewareFactories)) {
    if (name.toLowerCase() === lower) return { type: name, factory };
  }
  return undefined;
}
