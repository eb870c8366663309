import { SharedLimitTable } from './shared-limit-table.ts';

/** Slots of the process's limit table: 2 MiB shared, 256 KiB of ledger per worker. */
const SLOTS = 65_536;

/**
 * What a data-plane worker gets (in `workerData`) to count against the process's limits: the
 * table, created once by the main thread, and the worker's own ledger of the counts it holds,
 * which outlives the worker so the main thread can give them back when it ends.
 */
export interface SharedLimits {
  readonly table: SharedArrayBuffer;
  readonly ledger: SharedArrayBuffer;
}

let buffer: SharedArrayBuffer | undefined;
let table: SharedLimitTable | undefined;

/**
 * This thread's view of the process's limit table, used by `rateLimit`, `inFlightReq` and
 * `inFlightConn`. In the main thread it is the table the workers get; in a worker, the one
 * {@link adoptSharedLimits} installed.
 */
export function sharedLimitTable(): SharedLimitTable {
  table ??= new SharedLimitTable((buffer ??= SharedLimitTable.allocate(SLOTS)));
  return table;
}

/** Main thread: the shared state for one more worker (the process's table and a fresh ledger). */
export function sharedLimitsForWorker(): SharedLimits {
  buffer ??= SharedLimitTable.allocate(SLOTS);
  return { table: buffer, ledger: SharedLimitTable.allocateLedger(SLOTS) };
}

/**
 * Worker: counts against the main thread's table from now on (call before building middlewares).
 * Without one (a worker started some other way) the thread keeps a table of its own.
 */
export function adoptSharedLimits(limits: SharedLimits | undefined): void {
  if (limits === undefined) return;
  buffer = limits.table;
  table = new SharedLimitTable(limits.table, limits.ledger);
}

/**
 * Main thread, once a worker has ended: gives back the in-flight counts it still held (its
 * requests and connections ended with it), so a replacement starts from the true numbers.
 */
export function releaseWorkerLimits(limits: SharedLimits): void {
  new SharedLimitTable(limits.table, limits.ledger).releaseHeld();
}

export { REFUSED, UNTRACKED } from './shared-limit-table.ts';
