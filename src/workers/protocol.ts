import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { StaticConfig } from '../config/static/types.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import type { ReplicatedCertificates } from '../tls/stored-certificate.ts';
import type { MetricsState } from '../observability/metrics-state.ts';

/** A dynamic port the control plane assigned, as workers need it to route TCP to it. */
export interface AssignedPort {
  readonly key: string;
  readonly port: number;
  readonly protocol: 'tcp' | 'udp';
}

/**
 * Messages from the control plane (providers, ACME, API, health checks: one source of truth) to
 * the data-plane workers. Everything is plain, already merged and validated data: a worker only
 * compiles it into handlers.
 */
export type ToWorker =
  | {
      readonly type: 'init';
      readonly config: StaticConfig;
      readonly fds: readonly (readonly [string, readonly number[]])[];
    }
  /** Where the control plane's API listens: `api@internal` and its kin are forwarded there. */
  | { readonly type: 'api'; readonly url: string }
  | {
      readonly type: 'config';
      readonly version: number;
      readonly config: DynamicConfig;
      readonly diagnostics: readonly Diagnostic[];
      readonly ports: readonly AssignedPort[];
    }
  | { readonly type: 'certs'; readonly state: ReplicatedCertificates }
  | { readonly type: 'http01'; readonly tokens: readonly [string, string][] }
  /** TLS session ticket keys (48 bytes, base64) shared by every worker, so a client resumes on any of them. */
  | { readonly type: 'tickets'; readonly keys: string }
  /** The health of every health-checked server, as the control plane's checkers see it. */
  | { readonly type: 'health'; readonly states: readonly (readonly [string, string, boolean])[] }
  | { readonly type: 'drain'; readonly graceMs: number }
  /** Open the log files again (log rotation; SIGUSR1 to berth). */
  | { readonly type: 'reopen-logs' };

export type FromWorker =
  /** Listening; the descriptors of its listening sockets by entrypoint (passed on by a hand-over). */
  | {
      readonly type: 'listening';
      readonly entrypoints: readonly string[];
      readonly fds: readonly (readonly [string, readonly number[]])[];
    }
  | { readonly type: 'fatal'; readonly message: string }
  /** The worker's cumulative request counters (every second, and once more when it drains). */
  | { readonly type: 'metrics'; readonly state: MetricsState };

/**
 * Environment variable that enables `crash@internal` in workers: a router naming it makes the
 * worker that accepts the request fail as a bug would (for tests of worker replacement).
 */
export const TEST_HOOKS_ENV = 'BERTH_TEST_HOOKS';
