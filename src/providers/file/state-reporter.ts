/**
 * Tracks a provider's health and reports it to the sink and the log only when it changes, so that a
 * control plane that stays down for an hour yields one error line, not one per poll. Shared by the
 * file and HTTP providers.
 */
import type { Logger } from '../../lib/logger.ts';
import type { ProviderSink, ProviderState, ProviderStatus } from '../provider.ts';

export class StateReporter {
  readonly #log: Logger;
  #sink: ProviderSink | undefined;
  #status: ProviderStatus = 'starting';
  #error: string | undefined;
  #lastUpdate: number | undefined;
  #everOk = false;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Connects the sink and tells it the provider is starting. */
  attach(sink: ProviderSink): void {
    this.#sink = sink;
    this.#status = 'starting';
    this.#error = undefined;
    sink.status(this.state());
  }

  /** The current state, as `/health` shows it. */
  state(): ProviderState {
    const s: { status: ProviderStatus; error?: string; lastUpdate?: number } = { status: this.#status };
    if (this.#error !== undefined) s.error = this.#error;
    if (this.#lastUpdate !== undefined) s.lastUpdate = this.#lastUpdate;
    return s;
  }

  /**
   * The source is healthy again. `published` says a new configuration went to the sink just now;
   * the state is re-sent then (new `lastUpdate`) even when the status did not change.
   */
  ok(published: boolean, what: string): void {
    const changed = this.#status !== 'ok';
    if (published) this.#lastUpdate = Date.now();
    if (changed && this.#everOk) this.#log.info({ previousError: this.#error }, `${what}: recovered`);
    this.#everOk = true;
    this.#status = 'ok';
    this.#error = undefined;
    if (changed || published) this.#sink?.status(this.state());
  }

  /**
   * The source failed: `degraded` when a last good configuration is still applied, `down` before any.
   * Logged and reported only when the status or the error text changes.
   */
  fail(error: string, what: string): void {
    const status: ProviderStatus = this.#everOk ? 'degraded' : 'down';
    if (status === this.#status && error === this.#error) return;
    this.#status = status;
    this.#error = error;
    this.#log.error(
      { status, error },
      this.#everOk ? `${what}: keeping the last good configuration` : `${what}: no configuration yet`,
    );
    this.#sink?.status(this.state());
  }
}
