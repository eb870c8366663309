/**
 * What berth's L4 entrypoints turned away, counted per process for `/metrics`: TCP connections a
 * middleware refused, and UDP sessions dropped at the session table's bound. Plain data out
 * (`exportState`), so data-plane workers can send theirs to the process that serves `/metrics`.
 */

/** The counters as plain data (structured-clone and JSON safe). */
export interface L4CounterState {
  /** `[router, middleware, count]`: TCP connections closed by a middleware before any upstream was dialled. */
  readonly tcpRefused: readonly (readonly [string, string, number])[];
  /** `[entrypoint, reason, count]`: UDP sessions dropped at the bound (`evicted`) or not opened (`refused`). */
  readonly udpDropped: readonly (readonly [string, string, number])[];
}

/** Why a UDP session was lost: evicted to make room at the bound, or refused (no upstream socket). */
export type UdpDropReason = 'evicted' | 'refused';

/** Counters keyed by two label values. */
class PairCounter {
  readonly #values = new Map<string, [string, string, number]>();

  add(a: string, b: string, n = 1): void {
    const key = `${a}\u0000${b}`;
    const row = this.#values.get(key);
    if (row !== undefined) row[2] += n;
    else this.#values.set(key, [a, b, n]);
  }

  rows(): (readonly [string, string, number])[] {
    return [...this.#values.values()].map(([a, b, n]) => [a, b, n] as const);
  }
}

/** The process's L4 counters (one instance: every entrypoint of the process adds to it). */
export class L4Counters {
  readonly #tcpRefused = new PairCounter();
  readonly #udpDropped = new PairCounter();

  /** A TCP connection that `middleware` closed on `router`. */
  tcpRefused(router: string, middleware: string): void {
    this.#tcpRefused.add(router, middleware);
  }

  /** A UDP session of `entrypoint` lost at the table's bound. */
  udpDropped(entrypoint: string, reason: UdpDropReason): void {
    this.#udpDropped.add(entrypoint, reason);
  }

  /** Adds another process's counts (a data-plane worker that exited). */
  add(state: L4CounterState): void {
    for (const [a, b, n] of state.tcpRefused) this.#tcpRefused.add(a, b, n);
    for (const [a, b, n] of state.udpDropped) this.#udpDropped.add(a, b, n);
  }

  /** Cumulative counts as plain data. */
  exportState(): L4CounterState {
    return { tcpRefused: this.#tcpRefused.rows(), udpDropped: this.#udpDropped.rows() };
  }
}

/** The counters of this process. */
export const l4Counters = new L4Counters();

/** Keys an {@link IntervalLog} holds before it forgets those quiet for a whole interval. */
const MAX_KEYS = 1024;

/**
 * Logging for events that can come in floods (refused connections, dropped sessions): the first
 * of each key is logged at once, later ones at most once per interval, with how many were not
 * logged in between. The counters above have every event; the log says that it is happening.
 */
export class IntervalLog {
  readonly #intervalMs: number;
  readonly #keys = new Map<string, { last: number; skipped: number }>();

  constructor(intervalMs = 10_000) {
    this.#intervalMs = intervalMs;
  }

  /** How many keys are remembered. */
  get size(): number {
    return this.#keys.size;
  }

  /** Notes one event of `key`; calls `emit` when it is time to log, with the events not logged since. */
  note(key: string, emit: (skipped: number) => void): void {
    const now = Date.now();
    const k = this.#keys.get(key);
    if (k !== undefined && now - k.last < this.#intervalMs) {
      k.skipped++;
      return;
    }
    const skipped = k?.skipped ?? 0;
    // Keys come from the configuration (routers, entrypoints) and change with it: forget quiet ones.
    if (k === undefined && this.#keys.size >= MAX_KEYS) {
      for (const [name, v] of this.#keys) if (now - v.last >= this.#intervalMs) this.#keys.delete(name);
    }
    this.#keys.set(key, { last: now, skipped: 0 });
    emit(skipped);
  }
}
