import { fork, type ChildProcess, type StdioOptions } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { StaticConfig } from '../config/static/types.ts';
import type { Logger } from '../lib/logger.ts';
import { INHERITED_ENV, type FromWorker, type ToWorker } from './protocol.ts';
import type { MetricsState } from '../observability/metrics.ts';

const ENTRY = fileURLToPath(new URL('../worker-main.ts', import.meta.url));

interface Slot {
  child: ChildProcess | undefined;
  restarts: number;
}

/**
 * Runs the data-plane workers: forks them, hands them their listening sockets, replays the
 * latest configuration, certificates and ACME tokens to each (also after a crash and respawn),
 * and drains them on stop. The primary keeps the single source of truth.
 */
export class WorkerSupervisor {
  private readonly slots: Slot[];
  private readonly latest = new Map<ToWorker['type'], ToWorker>();
  private stopping = false;
  private readonly counters = new Map<number, MetricsState>();
  /** Told the last counters of a worker that exited (the primary absorbs them). */
  onWorkerCounters: ((state: MetricsState) => void) | undefined;
  private readonly config: StaticConfig;
  private readonly apiUrl: string;
  /** The listening sockets of each worker (by slot), by entrypoint. */
  private readonly sockets: readonly ReadonlyMap<string, readonly number[]>[];
  private readonly log: Logger;

  constructor(count: number, config: StaticConfig, apiUrl: string, sockets: readonly ReadonlyMap<string, readonly number[]>[], log: Logger) {
    this.slots = Array.from({ length: count }, () => ({ child: undefined, restarts: 0 }));
    this.config = config;
    this.apiUrl = apiUrl;
    this.sockets = sockets;
    this.log = log;
  }

  /** Forks every worker and resolves when all of them listen (rejects if one cannot). */
  async start(): Promise<void> {
    await Promise.all(this.slots.map((slot, i) => this.spawn(slot, i)));
  }

  /** Sends a message to every worker and remembers it for workers started later. */
  publish(msg: ToWorker): void {
    this.latest.set(msg.type, msg);
    for (const s of this.slots) this.sendTo(s.child, msg);
  }

  /** Tells every running worker once (not replayed to workers started later). */
  broadcast(msg: ToWorker): void {
    for (const s of this.slots) this.sendTo(s.child, msg);
  }

  /** The latest request counters of each running worker, for `/metrics`. */
  metricStates(): MetricsState[] {
    return [...this.counters.values()];
  }

  /** Process ids of the running workers. */
  pids(): number[] {
    return this.slots.flatMap((s) => (s.child?.pid ? [s.child.pid] : []));
  }

  private sendTo(child: ChildProcess | undefined, msg: ToWorker): void {
    if (!child || !child.connected) return;
    try {
      child.send(msg);
    } catch (err) {
      this.log.warn({ err, worker: child.pid }, 'could not reach a worker');
    }
  }

  private spawn(slot: Slot, index: number): Promise<void> {
    // Listening sockets keep their fd numbers in the worker; the IPC channel comes after them.
    const mine = this.sockets[index] ?? new Map<string, readonly number[]>();
    const fds = [...mine.values()].flat();
    const maxFd = fds.length > 0 ? Math.max(...fds) : 2;
    const stdio: StdioOptions = ['inherit', 'inherit', 'inherit'];
    for (let fd = 3; fd <= maxFd; fd++) stdio.push(fds.includes(fd) ? fd : 'ignore');
    stdio.push('ipc');
    const child = fork(ENTRY, [], {
      stdio,
      serialization: 'advanced',
      env: { ...process.env, [INHERITED_ENV]: [...mine].flatMap(([n, list]) => list.map((fd) => `${n}:${fd}`)).join(',') },
    });
    slot.child = child;
    return new Promise<void>((resolve, reject) => {
      let listening = false;
      child.on('message', (raw: unknown) => {
        const msg = raw as FromWorker;
        if (msg.type === 'listening') {
          listening = true;
          this.log.info({ worker: child.pid, index, entrypoints: msg.entrypoints }, 'worker listening');
          resolve();
        } else if (msg.type === 'metrics') {
          if (child.pid !== undefined) this.counters.set(child.pid, msg.state);
        } else if (msg.type === 'fatal') {
          this.log.error({ worker: child.pid, index }, `worker failed: ${msg.message}`);
          if (!listening) reject(new Error(`worker ${index} could not start: ${msg.message}`));
        }
      });
      child.once('exit', (code, signal) => {
        slot.child = undefined;
        const last = child.pid !== undefined ? this.counters.get(child.pid) : undefined;
        if (last) { this.counters.delete(child.pid!); this.onWorkerCounters?.(last); }
        if (!listening) { reject(new Error(`worker ${index} exited before listening (code ${code}, signal ${signal})`)); return; }
        if (this.stopping) return;
        slot.restarts++;
        const delay = Math.min(100 * 2 ** Math.min(slot.restarts, 6), 5000);
        this.log.error({ worker: child.pid, index, code, signal, restartInMs: delay }, 'worker exited; restarting');
        setTimeout(() => { if (!this.stopping) this.spawn(slot, index).catch((err: unknown) => this.log.error({ err }, 'worker restart failed')); }, delay).unref();
      });
      // `init` says what to listen on; the worker listens once the configuration has arrived, so a
      // connection waiting in an inherited socket's queue (a restart) is never answered with an
      // empty routing table. Certificates and tokens come first, the configuration last.
      child.send({ type: 'init', config: this.config, apiUrl: this.apiUrl, inheritedNames: [...mine.keys()] } satisfies ToWorker);
      for (const m of ['certs', 'http01', 'tickets', 'config'] as const) { const l = this.latest.get(m); if (l) this.sendTo(child, l); }
    });
  }

  /** Asks every worker to drain within `graceMs`; kills those still running a little after. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    await Promise.all(this.slots.map(async (s) => {
      const child = s.child;
      if (!child || child.exitCode !== null) return;
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      this.sendTo(child, { type: 'drain', graceMs });
      const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 2000);
      await exited;
      clearTimeout(kill);
    }));
  }
}
