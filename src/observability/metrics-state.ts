import type { L4CounterState } from '../tcp/l4-counters.ts';

/*
 * The request counters' data shapes: the live series `Metrics` counts into and the plain-data form
 * workers send, with the merge between them. Apart from `Metrics` so the worker protocol can name
 * the state without importing the collector.
 */

/** One series as plain data: key, label string, count, sum, bucket counts, request and response bytes. */
export type SeriesState = readonly [string, string, number, number, readonly number[], number, number];

/**
 * A process's request counters as plain data (structured-clone and JSON safe), so data-plane
 * workers can send theirs to the process that serves `/metrics`.
 */
export interface MetricsState {
  readonly bounds: readonly number[];
  readonly entrypoint: readonly SeriesState[];
  readonly router: readonly SeriesState[];
  readonly service: readonly SeriesState[];
  /** TCP connections refused by middlewares and UDP sessions dropped, in this process. */
  readonly l4?: L4CounterState;
}

/** One label set of a request family: a counter, a histogram and two byte counters. */
export interface Series {
  readonly labels: string;
  count: number;
  sum: number;
  readonly buckets: Float64Array;
  requestBytes: number;
  responseBytes: number;
}

/** Whether two histograms share their bucket bounds (and so can be summed). */
export function sameBounds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** Adds plain-data series into a family map (new label sets are created). */
export function addInto(target: Map<string, Series>, series: readonly SeriesState[], nBuckets: number): void {
  for (const [key, labels, count, sum, buckets, reqB, respB] of series) {
    let t = target.get(key);
    if (!t) {
      t = { labels, count: 0, sum: 0, buckets: new Float64Array(nBuckets), requestBytes: 0, responseBytes: 0 };
      target.set(key, t);
    }
    t.count += count;
    t.sum += sum;
    for (let i = 0; i < nBuckets; i++) t.buckets[i]! += buckets[i] ?? 0;
    t.requestBytes += reqB;
    t.responseBytes += respB;
  }
}
