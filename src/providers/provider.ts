import type { DynamicConfig } from '../config/dynamic/types.ts';
import type { PortOwner } from '../config/labels/types.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';

/** The lifecycle state of a provider (or of one of its endpoints), shown in `/health`. */
export type ProviderStatus = 'starting' | 'ok' | 'degraded' | 'down';

/** What `/health` shows for a provider. */
export interface ProviderState {
  readonly status: ProviderStatus;
  /** The last error, while the provider is not `ok`. */
  readonly error?: string;
  /** When the provider last published a configuration (epoch ms). */
  readonly lastUpdate?: number;
  /** Provider-specific detail, e.g. one entry per Docker endpoint. */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Claims refused because another repository owns the key, by daemon (Docker; the `berth_claims_refused` gauge). */
  readonly refusedClaims?: Readonly<Record<string, number>>;
  /** Who stands behind each router on `tcp-dynamic` / `udp-dynamic` (Docker; shown by `/ports`, not `/health`). */
  readonly ports?: readonly PortOwner[];
}

/** Where a provider sends its output. Providers never import the pipeline; they get this. */
export interface ProviderSink {
  /**
   * Publishes the provider's *whole* current configuration (not a delta). Element names are local
   * (`web`, not `web@docker`); the pipeline qualifies them with the provider's name.
   */
  publish(config: DynamicConfig, diagnostics: readonly Diagnostic[]): void;
  /** Reports a state change (errors are reported once per change, by the provider). */
  status(state: ProviderState): void;
}

/** A source of dynamic configuration (docker, file, http, …). Lifecycle: start → stop. */
export interface Provider {
  /** The suffix of qualified names: `docker`, `file`, `http`. */
  readonly name: string;
  start(sink: ProviderSink): Promise<void>;
  stop(): Promise<void>;
}
