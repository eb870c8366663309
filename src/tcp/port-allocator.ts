import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';

/**
 * Ports from `edge.dynamicPorts` for routers on the `tcp-dynamic` / `udp-dynamic` entrypoints.
 * A key (the qualified router name) keeps its port across restarts: assignments live in
 * `{stateDir}/ports.json`, written atomically (temp file, fsync, rename, directory fsync) before
 * the port is handed out. TCP and UDP ports are allocated independently.
 */

/** One assignment, as listed by `GET /ports`. */
export interface PortAssignment {
  readonly key: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** ISO time of the first assignment. */
  readonly assignedAt: string;
}

interface StateFile {
  version: 1;
  allocations: PortAssignment[];
}

const FILE = 'ports.json';

/** Allocates and remembers dynamic ports; one instance per state directory. */
export class PortAllocator {
  readonly #path: string;
  readonly #range: { readonly from: number; readonly to: number };
  readonly #byKey = new Map<string, PortAssignment>();
  /** Keys assigned since this process started: never reclaimed for someone else. */
  readonly #live = new Set<string>();
  /** Problems found while loading the state file (corrupt file quarantined, …). */
  readonly diagnostics: Diagnostic[] = [];

  constructor(stateDir: string, range: { readonly from: number; readonly to: number }) {
    this.#path = join(stateDir, FILE);
    this.#range = range;
    this.#load(stateDir);
  }

  /**
   * The port for `key`: its previous one when still in range, else the lowest free one. When the
   * range is full, the oldest assignment not used since this process started is reclaimed; when
   * there is none, `{ error }` says so.
   */
  assign(key: string, protocol: 'tcp' | 'udp'): { port: number } | { error: string } {
    const id = `${protocol}:${key}`;
    const { from, to } = this.#range;
    const prev = this.#byKey.get(id);
    if (prev && prev.port >= from && prev.port <= to) {
      this.#live.add(id);
      return { port: prev.port };
    }
    const used = new Set<number>();
    for (const a of this.#byKey.values()) if (a.protocol === protocol) used.add(a.port);
    let port = -1;
    for (let p = from; p <= to; p++) if (!used.has(p)) { port = p; break; }
    if (port === -1) {
      const stale = [...this.#byKey.entries()]
        .filter(([k, a]) => a.protocol === protocol && !this.#live.has(k) && a.port >= from && a.port <= to)
        .sort(([, a], [, b]) => (a.assignedAt < b.assignedAt ? -1 : 1))[0];
      if (!stale) {
        return { error: `no free ${protocol} port in edge.dynamicPorts ${from}-${to}: all ${to - from + 1} are assigned to running routers; widen the range` };
      }
      this.#byKey.delete(stale[0]);
      port = stale[1].port;
    }
    const assignment: PortAssignment = { key, protocol, port, assignedAt: new Date().toISOString() };
    this.#byKey.set(id, assignment);
    this.#live.add(id);
    const err = this.#save();
    if (err) return { error: `port ${port} assigned but not persisted (${err}); it may change after a restart` };
    return { port };
  }

  /** Forgets the assignment of `key` (its port becomes free). */
  release(key: string, protocol: 'tcp' | 'udp'): void {
    const id = `${protocol}:${key}`;
    if (this.#byKey.delete(id)) {
      this.#live.delete(id);
      this.#save();
    }
  }

  /** Every assignment, by protocol and port. */
  list(): PortAssignment[] {
    return [...this.#byKey.values()].sort((a, b) => (a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1));
  }

  #load(stateDir: string): void {
    let text: string;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.diagnostics.push(diagWarning(`file ${this.#path}`, undefined, `cannot read port allocations: ${errorMessage(err)}`));
      }
      try { mkdirSync(stateDir, { recursive: true }); } catch { /* reported at the first save */ }
      return;
    }
    const parsed = parseState(text);
    if (typeof parsed === 'string') {
      const aside = `${this.#path}.corrupt-${Date.now()}`;
      try { renameSync(this.#path, aside); } catch { /* keep going with an empty table */ }
      this.diagnostics.push(diagWarning(`file ${this.#path}`, undefined, `${parsed}; moved aside to ${aside}, dynamic ports start afresh`));
      return;
    }
    for (const a of parsed.allocations) this.#byKey.set(`${a.protocol}:${a.key}`, a);
  }

  /** Writes the state file atomically; returns an error message on failure. */
  #save(): string | undefined {
    const state: StateFile = { version: 1, allocations: this.list() };
    const tmp = `${this.#path}.${process.pid}.tmp`;
    try {
      const fd = openSync(tmp, 'w', 0o644);
      try {
        writeSync(fd, JSON.stringify(state, null, 2) + '\n');
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.#path);
      try {
        const dfd = openSync(join(this.#path, '..'), 'r');
        try { fsyncSync(dfd); } finally { closeSync(dfd); }
      } catch { /* directory fsync unsupported: the rename is still atomic */ }
      return undefined;
    } catch (err) {
      try { unlinkSync(tmp); } catch { /* nothing to clean */ }
      return errorMessage(err);
    }
  }
}

function parseState(text: string): StateFile | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `ports.json is not valid JSON (${errorMessage(err)})`;
  }
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { allocations?: unknown }).allocations)) {
    return 'ports.json has no allocations list';
  }
  const out: PortAssignment[] = [];
  for (const a of (raw as { allocations: unknown[] }).allocations) {
    const e = a as Partial<PortAssignment> | null;
    if (!e || typeof e.key !== 'string' || (e.protocol !== 'tcp' && e.protocol !== 'udp') || !Number.isInteger(e.port)) continue;
    out.push({ key: e.key, protocol: e.protocol, port: e.port!, assignedAt: typeof e.assignedAt === 'string' ? e.assignedAt : new Date(0).toISOString() });
  }
  return { version: 1, allocations: out };
}
