import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { StaticConfig } from '../config/static/types.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import type { ReplicatedCertificates } from '../tls/certificate-store.ts';
import type { MetricsState } from '../observability/metrics.ts';

/**
 * Messages between the primary (providers, ACME, API: one source of truth) and the data-plane
 * workers. Everything is plain data: each worker compiles its own snapshot from the merged config.
 */
export type ToWorker =
  | { readonly type: 'init'; readonly config: StaticConfig; readonly apiUrl: string; readonly inheritedNames: readonly string[] }
  | { readonly type: 'config'; readonly version: number; readonly config: DynamicConfig; readonly diagnostics: readonly Diagnostic[]; readonly ports: readonly { key: string; port: number; protocol: 'tcp' | 'udp' }[] }
  | { readonly type: 'certs'; readonly state: ReplicatedCertificates }
  | { readonly type: 'http01'; readonly tokens: readonly [string, string][] }
  /** TLS session ticket keys (48 bytes, base64) shared by every worker, so a client resumes on any of them. */
  | { readonly type: 'tickets'; readonly keys: string }
  | { readonly type: 'drain'; readonly graceMs: number }
  /** Open the log files again (log rotation; SIGUSR1 to the primary). */
  | { readonly type: 'reopen-logs' };

export type FromWorker =
  | { readonly type: 'listening'; readonly entrypoints: readonly string[] }
  | { readonly type: 'fatal'; readonly message: string }
  /** The worker's cumulative request counters (every second, and once more when it drains). */
  | { readonly type: 'metrics'; readonly state: MetricsState };

/**
 * Environment variable naming the listening sockets a worker accepts on, as `name:fd` pairs (a
 * name repeats when the worker serves several sockets of one entrypoint).
 */
export const INHERITED_ENV = 'BERTH_WORKER_FDS';
