import { Worker } from 'node:worker_threads';
import type { StaticConfig } from '../config/static/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { FromWorker, ToWorker } from './protocol.ts';
import type { MetricsState } from '../observability/metrics-state.ts';
import { releaseWorkerLimits, sharedLimitsForWorker, type SharedLimits } from '../lib/shared-limits.ts';

const ENTRY = new URL('../worker-main.ts', import.meta.url);

/**
 * A worker boots from this script rather than from `worker-main.ts` itself: the compile cache is
 * on before the first TypeScript module loads, so a warm start never loads the type stripper into
 * the worker's isolate (~10 MB of PSS per worker). A failed import ends the worker with the error.
 */
const BOOT = `try { require('node:module').enableCompileCache(); } catch {} import(${JSON.stringify(ENTRY.href)}).catch((err) => { setImmediate(() => { throw err; }); });`;

interface Slot {
  worker: Worker | undefined;
  restarts: number;
  /** The worker's listening sockets by entrypoint, once it listens. */
  fds: ReadonlyMap<string, readonly number[]>;
  /** The process's limit table and this slot's ledger, handed to each of its workers. */
  readonly limits: SharedLimits;
}

/**
 * Runs the data-plane worker threads: starts them, tells each which inherited sockets it accepts
 * on, replays the latest configuration, certificates, health and ACME tokens to each (also to a
 * replacement after a crash), and drains them on stop. The control plane keeps the single source
 * of truth. A thread that fails (an uncaught error, its heap limit) ends alone: the others keep
 * serving and a replacement starts.
 */
export class WorkerSupervisor {
  private readonly slots: Slot[];
  private readonly latest = new Map<ToWorker['type'], ToWorker>();
  private stopping = false;
  private readonly counters = new Map<number, MetricsState>();
  /**
   * Told when a worker ends unexpectedly while accepting on an inherited socket (systemd's, or a
   * predecessor's): its end closed that descriptor for the whole process, so no replacement can
   * adopt it and berth must restart (the socket's owner keeps the queue).
   */
  onSharedSocketLost: ((message: string) => void) | undefined;
  /** Told the last counters of a worker that ended (the control plane absorbs them). */
  onWorkerCounters: ((state: MetricsState) => void) | undefined;
  private readonly config: StaticConfig;
  /** The inherited sockets each worker (by slot) accepts on, by entrypoint. */
  private readonly inherited: readonly ReadonlyMap<string, readonly number[]>[];
  private readonly log: Logger;

  constructor(
    count: number,
    config: StaticConfig,
    inherited: readonly ReadonlyMap<string, readonly number[]>[],
    log: Logger,
  ) {
    this.slots = Array.from({ length: count }, () => ({
      worker: undefined,
      restarts: 0,
      fds: new Map(),
      limits: sharedLimitsForWorker(),
    }));
    this.config = config;
    this.inherited = inherited;
    this.log = log;
  }

  /**
   * Starts every worker; resolves when all of them listen (rejects if one cannot). A worker loads
   * its modules at once and listens when the first configuration is published.
   */
  start(): Promise<void> {
    return Promise.all(this.slots.map((slot, i) => this.spawn(slot, i))).then(() => undefined);
  }

  /** Sends a message to every worker and remembers it for workers started later. */
  publish(msg: ToWorker): void {
    this.latest.set(msg.type, msg);
    for (const s of this.slots) s.worker?.postMessage(msg);
  }

  /** Tells every running worker once (not replayed to workers started later). */
  broadcast(msg: ToWorker): void {
    for (const s of this.slots) s.worker?.postMessage(msg);
  }

  /** The latest request counters of each running worker, for `/metrics`. */
  metricStates(): MetricsState[] {
    return [...this.counters.values()];
  }

  /** Thread ids of the running workers. */
  ids(): number[] {
    return this.slots.flatMap((s) => (s.worker ? [s.worker.threadId] : []));
  }

  /** The listening sockets of every running worker, by entrypoint (for a hand-over). */
  listeningSockets(): Map<string, number[]> {
    const out = new Map<string, number[]>();
    for (const s of this.slots)
      for (const [name, fds] of s.fds) out.set(name, [...new Set([...(out.get(name) ?? []), ...fds])]);
    return out;
  }

  private spawn(slot: Slot, index: number): Promise<void> {
    const worker = new Worker(BOOT, { eval: true, workerData: { index, limits: slot.limits } });
    const id = worker.threadId;
    slot.worker = worker;
    slot.fds = new Map();
    const mine = this.inherited[index] ?? new Map<string, readonly number[]>();
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      worker.on('message', (msg: FromWorker) => {
        if (msg.type === 'listening') {
          listening = true;
          slot.fds = new Map(msg.fds);
          this.log.info({ worker: id, index, entrypoints: msg.entrypoints }, 'worker listening');
          resolve();
        } else if (msg.type === 'metrics') {
          this.counters.set(id, msg.state);
        } else if (msg.type === 'fatal') {
          this.log.error({ worker: id, index }, `worker failed: ${msg.message}`);
          if (!listening) reject(new Error(`worker ${index} could not start: ${msg.message}`));
        }
      });
      worker.on('error', (err) => this.log.error({ err, worker: id, index }, `worker failed: ${err.message}`));
      worker.once('exit', (code) => {
        releaseWorkerLimits(slot.limits);
        if (slot.worker === worker) {
          slot.worker = undefined;
          slot.fds = new Map();
        }
        const last = this.counters.get(id);
        if (last) {
          this.counters.delete(id);
          this.onWorkerCounters?.(last);
        }
        if (!listening) {
          reject(new Error(`worker ${index} ended before listening (code ${code})`));
          return;
        }
        if (this.stopping) return;
        // Its inherited sockets closed with it: no thread of this process can accept on them again.
        const held = [...mine].filter(([, fds]) => fds.length > 0);
        if (held.length > 0) {
          this.onSharedSocketLost?.(
            `worker ${index} ended while holding the inherited socket of ${held.map(([n]) => n).join(', ')}`,
          );
          return;
        }
        slot.restarts++;
        const delay = Math.min(100 * 2 ** Math.min(slot.restarts, 6), 5000);
        this.log.error({ worker: id, index, code, restartInMs: delay }, 'worker ended; restarting');
        setTimeout(() => {
          if (!this.stopping)
            this.spawn(slot, index).catch((err: unknown) => this.log.error({ err }, 'worker restart failed'));
        }, delay).unref();
      });
      // `init` says what to listen on; the worker listens once the configuration has arrived, so a
      // connection waiting in an inherited socket's queue (a restart) is never answered with an
      // empty routing table. Certificates, tokens and health come first, the configuration last.
      worker.postMessage({ type: 'init', config: this.config, fds: [...mine] } satisfies ToWorker);
      for (const m of ['api', 'certs', 'http01', 'tickets', 'health', 'config'] as const) {
        const l = this.latest.get(m);
        if (l) worker.postMessage(l);
      }
    });
  }

  /** Asks every worker to drain within `graceMs`; terminates those still running a little after. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(
      this.slots.map(async (s) => {
        const worker = s.worker;
        if (!worker) return;
        const exited = new Promise<void>((r) => worker.once('exit', () => r()));
        worker.postMessage({ type: 'drain', graceMs } satisfies ToWorker);
        const kill = setTimeout(() => void worker.terminate(), graceMs + 2000);
        await exited;
        clearTimeout(kill);
      }),
    );
  }
}
