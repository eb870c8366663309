import type { Handler } from '../handler.ts';
import type { Logger } from '../../lib/logger.ts';

/** What a middleware factory gets besides its options. */
export interface MiddlewareEnv {
  /** The qualified middleware name, e.g. `hsts@docker`. */
  readonly name: string;
  readonly logger: Logger;
  /** Returns the handler of a service by (qualified or local) name, for `errors` and similar. */
  readonly service: (name: string) => Handler | undefined;
  /** Static `forwardedHeaders.trustedIPs` of the entrypoint is applied before middlewares run. */
  readonly tmpDir: string;
}

/** A built middleware: wraps the next handler. Built once per snapshot, so per-request work only. */
export interface BuiltMiddleware {
  readonly wrap: (next: Handler) => Handler;
  /** Releases timers or files when the snapshot that used it is retired. */
  readonly close?: () => void;
}

/** Builds a middleware of one Traefik type from its options; invalid options are an error string. */
export type MiddlewareFactory = (
  options: Record<string, unknown>,
  env: MiddlewareEnv,
) => BuiltMiddleware | { readonly error: string };
