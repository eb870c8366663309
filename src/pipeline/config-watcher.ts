import type { DynamicConfig } from '../config/dynamic/types.ts';
import { formatDiagnostic, type Diagnostic } from '../lib/diagnostics.ts';
import type { Logger } from '../lib/logger.ts';
import type { ProviderSink, ProviderState } from '../providers/provider.ts';
import { mergeConfigs } from './merge.ts';
import type { RoutingSnapshot } from './snapshot.ts';
import type { SnapshotHolder } from './snapshot-holder.ts';

/** How long a replaced snapshot stays usable by requests that started on it. */
const RETIRE_AFTER_MS = 60_000;

/** Builds a snapshot from the merged configuration; may throw only on a bug (then the old one stays). */
export type SnapshotCompiler = (
  merged: DynamicConfig,
  version: number,
  diagnostics: readonly Diagnostic[],
) => RoutingSnapshot;

/**
 * Receives every provider's whole configuration, throttles bursts (container flapping), merges,
 * compiles and publishes. A compile failure keeps the previous snapshot (Caddy-style rollback).
 */
export class ConfigWatcher {
  private readonly configs = new Map<string, DynamicConfig>();
  private readonly diags = new Map<string, readonly Diagnostic[]>();
  private readonly states = new Map<string, ProviderState>();
  private timer: NodeJS.Timeout | undefined;
  private version = 0;
  private lastDiagnosticKeys = new Set<string>();
  private readonly throttleMs: number;
  private readonly compile: SnapshotCompiler;
  private readonly holder: SnapshotHolder;
  private readonly log: Logger;
  /** Extra configuration merged in under its own provider name (e.g. `internal`). */
  private readonly onBuilt: ((s: RoutingSnapshot) => void) | undefined;

  constructor(opts: {
    throttleMs: number;
    compile: SnapshotCompiler;
    holder: SnapshotHolder;
    logger: Logger;
    onBuilt?: (s: RoutingSnapshot) => void;
  }) {
    this.throttleMs = opts.throttleMs;
    this.compile = opts.compile;
    this.holder = opts.holder;
    this.log = opts.logger;
    this.onBuilt = opts.onBuilt;
  }

  /** The sink handed to one provider. */
  sinkFor(provider: string): ProviderSink {
    this.states.set(provider, { status: 'starting' });
    return {
      publish: (config, diagnostics) => {
        this.configs.set(provider, config);
        this.diags.set(provider, diagnostics);
        const prev = this.states.get(provider);
        this.states.set(provider, { ...(prev ?? { status: 'ok' }), lastUpdate: Date.now() });
        this.schedule();
      },
      status: (state) => {
        const prev = this.states.get(provider);
        this.states.set(provider, {
          ...state,
          ...(state.lastUpdate === undefined && prev?.lastUpdate !== undefined ? { lastUpdate: prev.lastUpdate } : {}),
        });
      },
    };
  }

  /** Every provider's state, for `/health`. */
  providerStates(): ReadonlyMap<string, ProviderState> {
    return this.states;
  }

  /** Rebuilds at once (start-up, SIGHUP, tests). */
  rebuildNow(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.rebuild();
  }

  private lastBuild = 0;

  /**
   * Leading-edge throttle: a change after a quiet period applies within a few milliseconds (a started
   * container is routable at once); during bursts at most one rebuild per `throttleMs`.
   */
  private schedule(): void {
    if (this.timer) return;
    const wait = Math.max(5, this.lastBuild + this.throttleMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.lastBuild = Date.now();
      this.rebuild();
    }, wait);
  }

  private rebuild(): void {
    const diagnostics: Diagnostic[] = [];
    for (const d of this.diags.values()) diagnostics.push(...d);
    let snap: RoutingSnapshot;
    try {
      snap = this.compile(mergeConfigs(this.configs), ++this.version, diagnostics);
    } catch (err) {
      this.log.error({ err }, 'could not build the new routing configuration; the previous one stays in service');
      return;
    }
    const retired = this.holder.current();
    this.holder.publish(snap);
    // Requests in flight finish on the snapshot they started with; release it well after that.
    setTimeout(() => retired.close(), RETIRE_AFTER_MS).unref();
    // Log each diagnostic once, when it appears, not on every rebuild.
    const keys = new Set<string>();
    for (const d of snap.diagnostics) {
      const k = formatDiagnostic(d);
      keys.add(k);
      if (!this.lastDiagnosticKeys.has(k))
        this.log[d.level === 'error' ? 'error' : 'warn']({ source: d.source, element: d.element }, d.message);
    }
    this.lastDiagnosticKeys = keys;
    this.onBuilt?.(snap);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
  }
}
