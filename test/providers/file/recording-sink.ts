/**
 * A ProviderSink that records what a provider sends and lets a test await a condition on it, event
 * driven (no sleeps): `await sink.until(() => sink.publishes.length === 2, 'second publish')`.
 */
import { pino } from 'pino';
import type { DynamicConfig } from '../../../src/config/dynamic/types.ts';
import type { Diagnostic } from '../../../src/lib/diagnostics.ts';
import type { Logger } from '../../../src/lib/logger.ts';
import type { ProviderSink, ProviderState } from '../../../src/providers/provider.ts';

export interface Published {
  readonly config: DynamicConfig;
  readonly diagnostics: readonly Diagnostic[];
}

export class RecordingSink implements ProviderSink {
  readonly publishes: Published[] = [];
  readonly states: ProviderState[] = [];
  #waiters = new Set<() => void>();

  publish(config: DynamicConfig, diagnostics: readonly Diagnostic[]): void {
    this.publishes.push({ config, diagnostics });
    this.#notify();
  }

  status(state: ProviderState): void {
    this.states.push(state);
    this.#notify();
  }

  get lastPublish(): Published | undefined {
    return this.publishes[this.publishes.length - 1];
  }

  get lastState(): ProviderState | undefined {
    return this.states[this.states.length - 1];
  }

  /** Resolves once `check()` holds (checked now and after every publish/status); rejects after `timeoutMs`. */
  until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiters.delete(waiter);
        reject(
          new Error(
            `timed out waiting for ${what}; states: ${JSON.stringify(this.states.slice(-3))}, publishes: ${this.publishes.length}`,
          ),
        );
      }, timeoutMs);
      const waiter = (): void => {
        if (!check()) return;
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        resolve();
      };
      this.#waiters.add(waiter);
    });
  }

  /** Waits for the publish after the `n`-th (1-based count of publishes seen so far) and returns it. */
  async publishNumber(n: number, what = `publish #${n}`): Promise<Published> {
    await this.until(() => this.publishes.length >= n, what);
    return this.publishes[n - 1]!;
  }

  #notify(): void {
    for (const w of [...this.#waiters]) w();
  }
}

/** A logger that keeps its JSON lines in memory. */
export function memoryLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (s: string) => void lines.push(JSON.parse(s) as Record<string, unknown>) },
  );
  return { logger, lines };
}
