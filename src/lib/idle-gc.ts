import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Gives memory back once a busy process goes quiet. V8's memory reducer never runs in a Node
 * server that turns idle after heavy load (it keeps judging the allocation rate high), so the
 * young generation stays at its grown size and glibc keeps what the old heap freed: a proxy that
 * served a burst would hold hundreds of MB more until the next restart. After a busy period
 * (event-loop utilisation above `busyAbove`), once the loop has been quiet for `quietChecks`
 * checks in a row, one memory-reducing full GC runs — when nothing is waiting for the process.
 */
export interface IdleGcOptions {
  readonly everyMs?: number;
  readonly busyAbove?: number;
  readonly quietChecks?: number;
  /** For tests: the utilisation of each check and the collector. */
  readonly utilization?: () => number;
  readonly collect?: () => void;
}

/** The state machine, separate from timers: `check(elu)` returns true when it collected. */
export function idleGcDecider(busyAbove: number, quietChecks: number): (elu: number) => boolean {
  let wasBusy = false;
  let quiet = 0;
  return (elu) => {
    if (elu > busyAbove) {
      wasBusy = true;
      quiet = 0;
      return false;
    }
    if (!wasBusy || ++quiet < quietChecks) return false;
    wasBusy = false;
    quiet = 0;
    return true;
  };
}

/** A full, memory-reducing collection, without leaving `gc` on the global object. */
function memoryReducingGc(): () => void {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as (o?: { type: 'major'; execution: 'sync'; flavor: 'last-resort' }) => void;
  setFlagsFromString('--no-expose-gc');
  return () => gc({ type: 'major', execution: 'sync', flavor: 'last-resort' });
}

let reducer: (() => void) | undefined;

/**
 * One memory-reducing collection now, for a known end of a burst: start-up leaves the parsed
 * configuration's intermediates and a grown young generation behind, which the idle check would
 * only give back after its quiet checks.
 */
export function reduceMemoryNow(): void {
  try {
    reducer ??= memoryReducingGc();
    reducer();
  } catch {
    /* a runtime without the flag: nothing to give back */
  }
}

/** Starts the idle check (an unref'd timer); returns its stop function. */
export function startIdleGc(opts: IdleGcOptions = {}): () => void {
  const decide = idleGcDecider(opts.busyAbove ?? 0.05, opts.quietChecks ?? 2);
  let collect = opts.collect;
  let last = performance.eventLoopUtilization();
  const utilization =
    opts.utilization ??
    ((): number => {
      const now = performance.eventLoopUtilization();
      const u = performance.eventLoopUtilization(now, last).utilization;
      last = now;
      return u;
    });
  const timer = setInterval(() => {
    if (!decide(utilization())) return;
    try {
      collect ??= memoryReducingGc();
      collect();
    } catch {
      /* a runtime without the flag: nothing to give back */
    }
  }, opts.everyMs ?? 5000);
  timer.unref();
  return () => clearInterval(timer);
}
