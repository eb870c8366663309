/**
 * The single catalog of operational errors. Every failure that crosses a module boundary is a
 * `BerthError` with a stable `code`, so logs, the API and tests can match on it.
 */

export const ErrorCodes = {
  CONFIG_INVALID: 'BERTH_ERR_CONFIG_INVALID',
  CONFIG_READ: 'BERTH_ERR_CONFIG_READ',
  UPSTREAM_REFUSED: 'BERTH_ERR_UPSTREAM_REFUSED',
  UPSTREAM_TIMEOUT: 'BERTH_ERR_UPSTREAM_TIMEOUT',
  UPSTREAM_RESET: 'BERTH_ERR_UPSTREAM_RESET',
  NO_HEALTHY_SERVER: 'BERTH_ERR_NO_HEALTHY_SERVER',
  PROVIDER_FETCH: 'BERTH_ERR_PROVIDER_FETCH',
  PROVIDER_PARSE: 'BERTH_ERR_PROVIDER_PARSE',
  DOCKER_UNREACHABLE: 'BERTH_ERR_DOCKER_UNREACHABLE',
  ACME_ORDER: 'BERTH_ERR_ACME_ORDER',
  ACME_RATE_LIMITED: 'BERTH_ERR_ACME_RATE_LIMITED',
  DNS_PROVIDER: 'BERTH_ERR_DNS_PROVIDER',
  STORAGE: 'BERTH_ERR_STORAGE',
  TLS_CERT_INVALID: 'BERTH_ERR_TLS_CERT_INVALID',
  LISTEN: 'BERTH_ERR_LISTEN',
  PORTS_EXHAUSTED: 'BERTH_ERR_PORTS_EXHAUSTED',
  USAGE: 'BERTH_ERR_USAGE',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** An operational failure with a stable code and, where there is one, its cause. */
export class BerthError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BerthError';
    this.code = code;
  }
}

/** Narrows unknown thrown values to something with a message. */
export function errorMessage(err: unknown): string {
  if (err instanceof Error) return err.message;
  return String(err);
}
