/**
 * The HTTP provider (Traefik's `providers.http`, seed 004): polls `endpoint` at start and then every
 * `pollInterval` (default 5s), each request bounded by `pollTimeout` (default 5s) and carrying
 * `headers` (e.g. `Authorization: Bearer …`). The body is Traefik dynamic configuration in JSON or
 * YAML (chosen by content type, else JSON first, then YAML).
 *
 * As in Traefik, a body byte-identical to the last applied one is not published again. Unlike
 * Traefik, which retries with backoff and logs every attempt, a failure of any kind — unreachable,
 * timeout, non-2xx, empty, unparsable, not an object — keeps the last good configuration, marks the
 * provider `degraded` (`down` before any success) and is logged once per change of state; polling goes
 * on at the normal interval, so a recovered control plane is applied on the next poll.
 */
import { createHash } from 'node:crypto';
import type { HttpProviderConfig } from '../../config/static/types.ts';
import { parseDynamicText } from '../../config/dynamic/decode.ts';
import { parseDuration } from '../../lib/duration.ts';
import { errorMessage } from '../../lib/errors.ts';
import { logger as rootLogger, type Logger } from '../../lib/logger.ts';
import type { Provider, ProviderSink } from '../provider.ts';
import { StateReporter } from '../file/state-reporter.ts';
import { ConfigFetcher, redactEndpoint } from './http-client.ts';

/** Options of `HttpProvider` that are not part of the static configuration. */
export interface HttpProviderOptions {
  logger?: Logger;
  /** Bodies larger than this fail the poll (default 64 MiB). */
  maxBodyBytes?: number;
}

const DEFAULT_INTERVAL_MS = 5000;
const DEFAULT_TIMEOUT_MS = 5000;

/** Polls a control plane for dynamic configuration; see the module comment. */
export class HttpProvider implements Provider {
  readonly name = 'http';
  readonly #cfg: HttpProviderConfig;
  readonly #log: Logger;
  readonly #maxBodyBytes: number;
  readonly #state: StateReporter;
  readonly #what: string;
  #sink: ProviderSink | undefined;
  #fetcher: ConfigFetcher | undefined;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: AbortController | undefined;
  #polling: Promise<void> | undefined;
  #stopped = false;
  #intervalMs = DEFAULT_INTERVAL_MS;
  #timeoutMs = DEFAULT_TIMEOUT_MS;
  #lastGoodHash: string | undefined;
  #lastBad: { hash: string; error: string } | undefined;

  constructor(cfg: HttpProviderConfig, opts: HttpProviderOptions = {}) {
    this.#cfg = cfg;
    this.#log = opts.logger ?? rootLogger('provider.http');
    this.#maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024 * 1024;
    this.#state = new StateReporter(this.#log);
    this.#what = `http provider ${redactEndpoint(cfg.endpoint)}`;
  }

  /**
   * Validates the settings and starts polling; resolves without waiting for the first answer (the
   * first publish follows as soon as the endpoint responds). Bad settings leave the provider `down`.
   */
  async start(sink: ProviderSink): Promise<void> {
    this.#sink = sink;
    this.#stopped = false;
    this.#state.attach(sink);
    const interval = parseDuration(this.#cfg.pollInterval ?? '5s');
    if (interval === undefined || interval <= 0) {
      this.#state.fail(
        `providers.http.pollInterval: must be a duration greater than 0, got ${JSON.stringify(this.#cfg.pollInterval)}`,
        this.#what,
      );
      return;
    }
    this.#intervalMs = interval;
    const timeout = parseDuration(this.#cfg.pollTimeout ?? '5s');
    // Go's 0 means "no timeout"; a poll that can hang forever would stop the provider, so keep a bound.
    this.#timeoutMs = timeout !== undefined && timeout > 0 ? timeout : DEFAULT_TIMEOUT_MS;
    if (!this.#cfg.endpoint) {
      this.#state.fail('providers.http.endpoint: a non-empty endpoint is required', this.#what);
      return;
    }
    try {
      this.#fetcher = await ConfigFetcher.create(this.#cfg, this.#maxBodyBytes);
    } catch (err) {
      this.#state.fail(errorMessage(err), this.#what);
      return;
    }
    if (this.#stopped) return;
    this.#schedule(0);
  }

  /** Clears the timer, aborts a poll in flight and closes the connection pool. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#inFlight?.abort();
    await this.#polling;
    await this.#fetcher?.close();
    this.#fetcher = undefined;
  }

  #schedule(delayMs: number): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => {
      const started = Date.now();
      this.#polling = this.#pollOnce().finally(() => {
        this.#polling = undefined;
        // Fixed rate like Traefik's ticker, but never two polls at once.
        this.#schedule(Math.max(0, this.#intervalMs - (Date.now() - started)));
      });
    }, delayMs);
    this.#timer.unref();
  }

  async #pollOnce(): Promise<void> {
    const fetcher = this.#fetcher;
    if (!fetcher) return;
    const ac = new AbortController();
    this.#inFlight = ac;
    const deadline = setTimeout(() => ac.abort(), this.#timeoutMs);
    let fetched: Awaited<ReturnType<ConfigFetcher['fetch']>>;
    try {
      fetched = await fetcher.fetch(ac.signal);
    } catch (err) {
      if (this.#stopped) return;
      const message = ac.signal.aborted
        ? `GET ${redactEndpoint(this.#cfg.endpoint)}: no complete answer within ${this.#timeoutMs} ms (pollTimeout)`
        : errorMessage(err);
      this.#state.fail(message, this.#what);
      return;
    } finally {
      clearTimeout(deadline);
      if (this.#inFlight === ac) this.#inFlight = undefined;
    }
    if (this.#stopped) return;
    this.#apply(fetched.body, fetched.contentType);
  }

  #apply(body: Buffer, contentType: string | undefined): void {
    const hash = createHash('sha256').update(body).digest('hex');
    if (hash === this.#lastGoodHash) {
      this.#state.ok(false, this.#what);
      return;
    }
    if (hash === this.#lastBad?.hash) {
      this.#state.fail(this.#lastBad.error, this.#what);
      return;
    }
    const source = `http provider ${redactEndpoint(this.#cfg.endpoint)}`;
    const parsed = parseDynamicText(body.toString('utf8'), source, formatOf(contentType));
    if (!parsed.config) {
      const error = `${redactEndpoint(this.#cfg.endpoint)}: ${parsed.diagnostics[0]?.message ?? 'unusable body'}`;
      this.#lastBad = { hash, error };
      this.#state.fail(error, this.#what);
      return;
    }
    this.#lastGoodHash = hash;
    this.#lastBad = undefined;
    this.#sink?.publish(parsed.config, parsed.diagnostics);
    this.#state.ok(true, this.#what);
  }
}

function formatOf(contentType: string | undefined): 'json' | 'yaml' | undefined {
  if (!contentType) return undefined;
  const ct = contentType.toLowerCase();
  if (ct.includes('json')) return 'json';
  if (ct.includes('yaml') || ct.includes('yml')) return 'yaml';
  return undefined;
}
