/** Which load generator produced a measurement. */
export type Generator = 'autocannon' | 'wrk' | 'node-tls' | 'openssl-s_time' | 'node-ws';

/** One load run against one port. */
export interface LoadSpec {
  readonly port: number;
  readonly tls: boolean;
  /** Host header (and SNI is always bench.test on TLS). */
  readonly host: string;
  readonly path: string;
  readonly connections: number;
  readonly durationMs: number;
}

/** What a load run measured. Rates are per second of the measured window. */
export interface LoadResult {
  readonly generator: Generator;
  readonly connections: number;
  readonly durationS: number;
  /** Requests (or handshakes, or WebSocket round trips) per second. */
  readonly rps: number;
  readonly p50Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Response bytes per second in MiB, when the generator reports it. */
  readonly mibps: number | undefined;
  /** Connection errors, timeouts, resets. */
  readonly errors: number;
  /** Responses that were not 2xx. A row with any is not a valid measurement. */
  readonly non2xx: number;
}

/** Percentile of an ascending array (nearest rank). */
export function percentile(sorted: ArrayLike<number>, p: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}

/** Collects latencies (ms) into a growable typed array; cheap enough for a client hot loop. */
export class LatencyRecorder {
  private data = new Float64Array(1 << 16);
  private n = 0;

  add(ms: number): void {
    if (this.n === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.n++] = ms;
  }

  get count(): number {
    return this.n;
  }

  /** p50 and p99 of everything recorded. */
  summary(): { p50Ms: number | undefined; p99Ms: number | undefined } {
    const sorted = this.data.slice(0, this.n).sort();
    return { p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99) };
  }
}
