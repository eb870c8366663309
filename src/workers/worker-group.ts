import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import type { EntryPointConfig, StaticConfig } from '../config/static/types.ts';
import type { Logger } from '../lib/logger.ts';
import type { Http01Responder } from '../acme/http01-responder.ts';
import type { ServicePool } from '../http/service-builder.ts';
import type { RoutingSnapshot } from '../pipeline/snapshot.ts';
import type { CertificateStore } from '../tls/certificate-store.ts';
import type { Metrics } from '../observability/metrics.ts';
import { WorkerSupervisor } from './supervisor.ts';
import type { AssignedPort } from './protocol.ts';

const TICKET_ROTATION_MS = 12 * 3600_000;

/** What the control plane shares with its workers. */
export interface WorkerSources {
  readonly config: StaticConfig;
  /** Inherited listening sockets (systemd, a previous berth), by entrypoint. */
  readonly inherited: ReadonlyMap<string, readonly number[]>;
  readonly snapshot: () => RoutingSnapshot;
  readonly ports: () => readonly AssignedPort[];
  readonly certificates: CertificateStore;
  /** The control plane's service pool: its health checks are the only ones. */
  readonly pool: ServicePool;
  readonly http01: Http01Responder | undefined;
  readonly metrics: Metrics | undefined;
  readonly logger: Logger;
  /** A worker failure berth cannot recover from in place (see WorkerSupervisor.onSharedSocketLost). */
  readonly onFatal: (message: string) => void;
}

/**
 * The data-plane workers of a berth and everything they are fed: each worker thread opens the
 * TCP entrypoints itself with SO_REUSEPORT (or accepts on the inherited sockets), so the kernel
 * spreads connections over every core; the control plane replicates configuration, certificates,
 * server health, TLS ticket keys and HTTP-01 tokens to them.
 */
export class WorkerGroup {
  /** The TCP entrypoints the workers serve, with the port they share (port 0 resolved once). */
  readonly entrypoints = new Map<string, EntryPointConfig>();
  private readonly supervisor: WorkerSupervisor;
  private readonly src: WorkerSources;
  private ticketTimer: NodeJS.Timeout | undefined;
  private pending = new Set<'certs' | 'health'>();
  private readonly listening: Promise<void>;

  private constructor(src: WorkerSources, count: number, entryPoints: Record<string, EntryPointConfig>) {
    this.src = src;
    const inherited: Map<string, number[]>[] = Array.from({ length: count }, () => new Map());
    for (const [name, fds] of src.inherited)
      assignSockets(fds, count).forEach((list, i) => {
        inherited[i]!.set(name, list);
      });
    this.supervisor = new WorkerSupervisor(count, { ...src.config, entryPoints }, inherited, src.logger);
    this.supervisor.onWorkerCounters = (state) => src.metrics?.absorb(state);
    this.supervisor.onSharedSocketLost = src.onFatal;
    for (const [name, ep] of Object.entries(entryPoints)) if (ep.protocol === 'tcp') this.entrypoints.set(name, ep);
    this.listening = this.supervisor.start();
    // Awaited in `start`; a worker that cannot start must not go unnoticed meanwhile.
    this.listening.catch(() => undefined);
  }

  /**
   * Starts `count` worker threads at once: they load their modules while the control plane
   * reads its providers, and listen once `start` gives them their first configuration.
   */
  static async spawn(src: WorkerSources, count: number): Promise<WorkerGroup> {
    const entryPoints: Record<string, EntryPointConfig> = {};
    for (const [name, ep] of Object.entries(src.config.entryPoints)) {
      // Port 0 would give every worker its own random port: pick one for all of them.
      entryPoints[name] =
        ep.protocol === 'tcp' && ep.port === 0 && !src.inherited.has(name)
          ? { ...ep, port: await freePort(ep.host) }
          : ep;
    }
    return new WorkerGroup(src, count, entryPoints);
  }

  /** Feeds the workers (the API's address, then what they serve); resolves once every one listens. */
  async start(apiUrl: string): Promise<void> {
    const src = this.src;
    // Workers listen on their first configuration: everything else they serve with goes first.
    this.supervisor.publish({ type: 'api', url: apiUrl });
    this.publish('certs');
    src.certificates.onChange(() => this.soon('certs'));
    src.pool.onHealthChange(() => this.soon('health'));
    // One set of session ticket keys for every worker (a client resumes whichever worker accepts
    // it), replaced every 12 hours so a stolen key never opens old sessions for long.
    const tickets = (): void => this.supervisor.publish({ type: 'tickets', keys: randomBytes(48).toString('base64') });
    tickets();
    this.ticketTimer = setInterval(tickets, TICKET_ROTATION_MS);
    this.ticketTimer.unref();
    const responder = src.http01;
    if (responder) {
      const tokens = (): void => this.supervisor.publish({ type: 'http01', tokens: responder.entries() });
      responder.onChange(tokens);
      tokens();
    }
    this.publish('health');
    this.publishConfig(src.snapshot());
    await this.listening;
  }

  /** A new snapshot: its merged configuration and the current health go to every worker. */
  publishConfig(snap: RoutingSnapshot): void {
    this.supervisor.publish({
      type: 'config',
      version: snap.version,
      config: snap.config,
      diagnostics: snap.diagnostics,
      ports: this.src.ports(),
    });
    this.publish('health');
  }

  private soon(what: 'certs' | 'health'): void {
    if (this.pending.has(what)) return;
    this.pending.add(what);
    setImmediate(() => {
      this.pending.delete(what);
      this.publish(what);
    });
  }

  private publish(what: 'certs' | 'health'): void {
    if (what === 'certs') this.supervisor.publish({ type: 'certs', state: this.src.certificates.exportState() });
    else this.supervisor.publish({ type: 'health', states: this.src.pool.healthStates() });
  }

  /** Thread ids of the running workers. */
  ids(): number[] {
    return this.supervisor.ids();
  }

  /** The workers' latest request counters, for `/metrics`. */
  metricStates(): ReturnType<WorkerSupervisor['metricStates']> {
    return this.supervisor.metricStates();
  }

  /** The listening sockets the workers accept on, by entrypoint (for a hand-over). */
  listeningSockets(): Map<string, number[]> {
    return this.supervisor.listeningSockets();
  }

  /** Log rotation in every worker. */
  reopenLogs(): void {
    this.supervisor.broadcast({ type: 'reopen-logs' });
  }

  /** Drains every worker within `graceMs`. */
  async drain(graceMs: number): Promise<void> {
    clearInterval(this.ticketTimer);
    await this.supervisor.stop(graceMs);
  }
}

/**
 * Which listening sockets each of `workers` workers accepts on, given an entrypoint's inherited
 * sockets: socket j goes to worker j mod workers, and never to two of them. Descriptor numbers
 * are the process's: two threads wrapping one descriptor would each close it, and the second
 * close could hit whatever connection had been given that number meanwhile. A worker left without
 * one gets an empty list and does not serve that entrypoint (it must not bind a listener of its
 * own beside the inherited one, whose queue holds the connections of a restart).
 */
export function assignSockets(fds: readonly number[], workers: number): number[][] {
  const out: number[][] = Array.from({ length: workers }, () => []);
  fds.forEach((fd, j) => {
    out[j % workers]!.push(fd);
  });
  return out;
}

function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, host || '127.0.0.1', () => {
      const { port } = srv.address() as AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}
