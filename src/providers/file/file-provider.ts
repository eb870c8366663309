/**
 * The file provider (Traefik's `providers.file`): dynamic configuration from one file (`filename`) or
 * every YAML/JSON file below a directory (`directory`, which wins when both are given, as in Traefik).
 * With `watch`, changes are picked up within a debounce of ~50 ms. The directory is watched rather than
 * the file, so editors that save by writing a temporary file and renaming it over the original — and
 * Kubernetes ConfigMap symlink swaps — are seen too.
 *
 * A load that fails (unreadable file, syntax error, not an object, empty file mid-write) publishes
 * nothing: the last good configuration stays applied and the state becomes `degraded` (`down` before
 * any success). Element-level problems never fail a load; they travel as diagnostics.
 */
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { FileProviderConfig } from '../../config/static/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger as rootLogger, type Logger } from '../../lib/logger.ts';
import type { Provider, ProviderSink } from '../provider.ts';
import { loadDirectory, loadFile, type LoadResult } from './load-files.ts';
import { StateReporter } from './state-reporter.ts';

/** Options of `FileProvider` that are not part of the static configuration. */
export interface FileProviderOptions {
  logger?: Logger;
  /** Quiet time after the last file-system event before reloading (ms, default 50). */
  debounceMs?: number;
  /** How often a watch that could not be set up (missing directory) is retried (ms, default 1000). */
  rewatchMs?: number;
}

/** Reads Traefik dynamic configuration from files; see the module comment. */
export class FileProvider implements Provider {
  readonly name = 'file';
  readonly #cfg: FileProviderConfig;
  readonly #log: Logger;
  readonly #debounceMs: number;
  readonly #rewatchMs: number;
  readonly #state: StateReporter;
  #sink: ProviderSink | undefined;
  #watcher: FSWatcher | undefined;
  #debounce: NodeJS.Timeout | undefined;
  #rewatch: NodeJS.Timeout | undefined;
  #loading: Promise<void> | undefined;
  #pending = false;
  #stopped = false;
  #lastFingerprint: string | undefined;

  constructor(cfg: FileProviderConfig, opts: FileProviderOptions = {}) {
    this.#cfg = cfg;
    this.#log = opts.logger ?? rootLogger('provider.file');
    this.#debounceMs = opts.debounceMs ?? 50;
    this.#rewatchMs = opts.rewatchMs ?? 1000;
    this.#state = new StateReporter(this.#log);
  }

  /** Loads once (resolving after the first publish or failure), then watches when `watch` is set. */
  async start(sink: ProviderSink): Promise<void> {
    this.#sink = sink;
    this.#stopped = false;
    this.#state.attach(sink);
    if (this.#cfg.watch) this.#startWatching();
    await this.#reload();
  }

  /** Stops watching and waits for a load in progress. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#debounce);
    clearTimeout(this.#rewatch);
    this.#watcher?.close();
    this.#watcher = undefined;
    await this.#loading;
  }

  /** What is watched: the directory itself, or the directory holding the file. */
  #watchTarget(): { path: string; recursive: boolean } | undefined {
    if (this.#cfg.directory) return { path: resolve(this.#cfg.directory), recursive: true };
    if (this.#cfg.filename) return { path: dirname(resolve(this.#cfg.filename)), recursive: false };
    return undefined;
  }

  #startWatching(): void {
    const target = this.#watchTarget();
    if (!target || this.#stopped) return;
    try {
      // Any event reloads: the fingerprint check makes unrelated changes in the directory cheap no-ops.
      const w = watch(target.path, { recursive: target.recursive, persistent: false }, () => this.#schedule());
      w.on('error', (err) => {
        this.#log.warn({ error: errorMessage(err), path: target.path }, 'file provider: watch failed, retrying');
        w.close();
        if (this.#watcher === w) this.#watcher = undefined;
        this.#retryWatch();
        this.#schedule();
      });
      this.#watcher = w;
    } catch (err) {
      // Typically the directory does not exist yet; the load reports that, and the watch is retried.
      this.#log.debug({ error: errorMessage(err), path: target.path }, 'file provider: cannot watch yet');
      this.#retryWatch();
    }
  }

  #retryWatch(): void {
    if (this.#stopped) return;
    clearTimeout(this.#rewatch);
    this.#rewatch = setTimeout(() => {
      this.#startWatching();
      if (this.#watcher) this.#schedule();
    }, this.#rewatchMs);
    this.#rewatch.unref();
  }

  #schedule(): void {
    if (this.#stopped) return;
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => void this.#reload(), this.#debounceMs);
  }

  /** Runs one load at a time; events during a load cause exactly one more. */
  #reload(): Promise<void> {
    if (this.#loading) {
      this.#pending = true;
      return this.#loading;
    }
    this.#loading = (async () => {
      do {
        this.#pending = false;
        await this.#loadOnce();
      } while (this.#pending && !this.#stopped);
    })().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #loadOnce(): Promise<void> {
    let result: LoadResult;
    try {
      result = await this.#load();
    } catch (err) {
      result = { ok: false, error: errorMessage(err) };
    }
    if (this.#stopped || !this.#sink) return;
    if (!result.ok) {
      this.#state.fail(result.error, 'file provider');
      return;
    }
    const changed = result.fingerprint !== this.#lastFingerprint;
    if (changed) {
      this.#lastFingerprint = result.fingerprint;
      this.#sink.publish(result.config, result.diagnostics);
    }
    this.#state.ok(changed, 'file provider');
  }

  #load(): Promise<LoadResult> {
    if (this.#cfg.directory) return loadDirectory(resolve(this.#cfg.directory));
    if (this.#cfg.filename) return loadFile(resolve(this.#cfg.filename));
    return Promise.resolve({ ok: false, error: 'providers.file needs a filename or a directory' });
  }
}
