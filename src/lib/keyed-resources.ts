/**
 * Keyed resources kept in line with what is wanted: each wanted key is opened once (never twice
 * while an open is in progress), each key no longer wanted is closed — also one whose open finishes
 * after it stopped being wanted. Listeners opened on demand (dynamic and RPROXY ports) live here.
 */
export class KeyedResources<V> {
  readonly #open: (key: string, value: V) => Promise<() => Promise<void>>;
  readonly #onError: (key: string, err: unknown) => void;
  readonly #live = new Map<string, () => Promise<void>>();
  readonly #opening = new Set<string>();
  readonly #closing = new Set<Promise<void>>();
  /** Keys whose last open failed: tried again at every sync, reported once until they open. */
  readonly #failed = new Set<string>();
  #wanted: Readonly<Record<string, V>> = {};

  /** `open` resolves with the function that closes what it opened; `onError` hears the first of a run of failed opens of a key. */
  constructor(
    open: (key: string, value: V) => Promise<() => Promise<void>>,
    onError: (key: string, err: unknown) => void,
  ) {
    this.#open = open;
    this.#onError = onError;
  }

  /** Opens what is wanted and not open yet; closes what is open and not wanted any more. */
  sync(wanted: Readonly<Record<string, V>>): void {
    this.#wanted = wanted;
    for (const key of this.#failed) if (!(key in wanted)) this.#failed.delete(key);
    for (const [key, value] of Object.entries(wanted)) {
      if (this.#live.has(key) || this.#opening.has(key)) continue;
      this.#opening.add(key);
      this.#open(key, value)
        .then(
          (close) => {
            this.#failed.delete(key);
            this.#live.set(key, close);
            this.#closeUnwanted();
          },
          (err: unknown) => {
            if (!this.#failed.has(key)) this.#onError(key, err);
            this.#failed.add(key);
          },
        )
        .finally(() => this.#opening.delete(key));
    }
    this.#closeUnwanted();
  }

  /** Whether `key` is open. */
  has(key: string): boolean {
    return this.#live.has(key);
  }

  /** Resolves when the closes in progress are done. */
  async closed(): Promise<void> {
    await Promise.all([...this.#closing]);
  }

  #closeUnwanted(): void {
    for (const [key, close] of this.#live) {
      if (key in this.#wanted) continue;
      this.#live.delete(key);
      const done = close().catch(() => undefined);
      this.#closing.add(done);
      void done.finally(() => this.#closing.delete(done));
    }
  }
}
