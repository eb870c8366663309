import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';

/**
 * Ports from `edge.dynamicPorts` for routers on the `tcp-dynamic` / `udp-dynamic` entrypoints.
 * A key (the qualified router name) keeps its port across restarts: assignments live in
 * `{stateDir}/ports.json`, written atomically (temp file, fsync, rename, directory fsync) before
 * the port is handed out. TCP and UDP ports are allocated independently.
 *
 * In a fleet the assignments are shared (a {@link PortShare}): the allocator still answers at once
 * from its table — the fleet's assignments as last seen, kept in ports.json — and the fleet confirms
 * or corrects each new assignment afterwards ({@link PortAllocator.adopt}).
 */

/** One assignment, as listed by `GET /ports`. */
export interface PortAssignment {
  readonly key: string;
  readonly protocol: 'tcp' | 'udp';
  readonly port: number;
  /** ISO time of the first assignment. */
  readonly assignedAt: string;
  /** In a fleet: `fleet` once the fleet holds it, `local` while only this host does (not yet confirmed). */
  readonly source?: 'local' | 'fleet';
}

/** The fleet's side of an allocator: told of every assignment made here before the fleet confirmed it. */
export interface PortShare {
  assigned(a: PortAssignment): void;
}

/** What adopting the fleet's table changed here. */
export interface AdoptResult {
  /** Keys used here whose port the fleet changed or took (each a sentence for the log). */
  readonly lost: readonly string[];
  /** Whether a router served here must move: the configuration is compiled again. */
  readonly changed: boolean;
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
  #share: PortShare | undefined;
  /** Keys the fleet has no port for (its range is full), and why. */
  readonly #refused = new Map<string, string>();
  readonly #listeners = new Set<() => void>();

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
    const refused = this.#refused.get(id);
    if (refused !== undefined) {
      this.#live.add(id);
      return { error: refused };
    }
    const used = new Set<number>();
    for (const a of this.#byKey.values()) if (a.protocol === protocol) used.add(a.port);
    let port = -1;
    for (let p = from; p <= to; p++)
      if (!used.has(p)) {
        port = p;
        break;
      }
    // In a fleet a port unused here may be used on another host: only the fleet could reclaim it.
    if (port === -1 && this.#share !== undefined) {
      return {
        error: `no free ${protocol} port in edge.dynamicPorts ${from}-${to}: all ${to - from + 1} are assigned across the fleet; widen the range`,
      };
    }
    if (port === -1) {
      const stale = [...this.#byKey.entries()]
        .filter(([k, a]) => a.protocol === protocol && !this.#live.has(k) && a.port >= from && a.port <= to)
        .sort(([, a], [, b]) => (a.assignedAt < b.assignedAt ? -1 : 1))[0];
      if (!stale) {
        return {
          error: `no free ${protocol} port in edge.dynamicPorts ${from}-${to}: all ${to - from + 1} are assigned to running routers; widen the range`,
        };
      }
      this.#byKey.delete(stale[0]);
      port = stale[1].port;
    }
    const assignment: PortAssignment = {
      key,
      protocol,
      port,
      assignedAt: new Date().toISOString(),
      ...(this.#share ? { source: 'local' as const } : {}),
    };
    this.#byKey.set(id, assignment);
    this.#live.add(id);
    const err = this.#save();
    this.#share?.assigned(assignment);
    if (err) return { error: `port ${port} assigned but not persisted (${err}); it may change after a restart` };
    return { port };
  }

  /**
   * Shares the assignments with a fleet: from now on every new one is reported to `share`, the
   * ones made before are pending until the fleet confirms them, and nothing is reclaimed locally.
   */
  share(share: PortShare): void {
    this.#share = share;
    for (const [id, a] of this.#byKey) if (a.source === undefined) this.#byKey.set(id, { ...a, source: 'local' });
  }

  /** Calls `listener` when the fleet moved or took a port a router here uses (compile again). */
  onChange(listener: () => void): void {
    this.#listeners.add(listener);
  }

  /** Assignments made here that the fleet has not confirmed yet. */
  pending(): PortAssignment[] {
    return this.list().filter((a) => a.source === 'local');
  }

  /**
   * Takes the fleet's whole table in: the fleet's port for a key wins; a key of this host whose
   * port the fleet gives to another key loses it (it gets a new one at the next compile); a
   * confirmed assignment the fleet no longer has (an emptied Redis) is pending again. `refused`
   * names keys the fleet has no port for. Saves, and tells the listeners when routers must move.
   */
  adopt(fleet: readonly PortAssignment[], refused: ReadonlyMap<string, string> = new Map()): AdoptResult {
    const lost: string[] = [];
    let changed = false;
    let dirty = false;
    const taken = new Map<string, string>(); // `protocol:port` → id
    const inFleet = new Set<string>();
    for (const f of fleet) {
      const id = `${f.protocol}:${f.key}`;
      inFleet.add(id);
      taken.set(`${f.protocol}:${f.port}`, id);
      const cur = this.#byKey.get(id);
      if (cur?.port === f.port && cur.source === 'fleet') continue;
      dirty = true;
      if (cur !== undefined && cur.port !== f.port) {
        if (this.#live.has(id)) changed = true;
        lost.push(
          `${f.protocol} port ${cur.port} of ${f.key}${cur.source === 'local' ? ' (assigned here while the fleet could not be asked)' : ''} is ${f.port} in the fleet: it moves there`,
        );
      }
      this.#byKey.set(id, {
        key: f.key,
        protocol: f.protocol,
        port: f.port,
        assignedAt: f.assignedAt,
        source: 'fleet',
      });
    }
    for (const [id, a] of [...this.#byKey]) {
      if (inFleet.has(id)) continue;
      const holder = taken.get(`${a.protocol}:${a.port}`);
      if (holder !== undefined) {
        this.#byKey.delete(id);
        dirty = true;
        if (this.#live.has(id)) changed = true;
        lost.push(
          `${a.protocol} port ${a.port} of ${a.key} belongs to ${holder.slice(holder.indexOf(':') + 1)} in the fleet: ${a.key} gets another one`,
        );
      } else if (a.source === 'fleet') {
        this.#byKey.set(id, { ...a, source: 'local' });
        dirty = true;
      }
    }
    for (const [id, error] of refused) {
      if (this.#byKey.delete(id)) dirty = true;
      if (this.#refused.get(id) !== error && this.#live.has(id)) changed = true;
    }
    for (const id of this.#refused.keys()) if (!refused.has(id) && this.#live.has(id)) changed = true;
    this.#refused.clear();
    for (const [id, error] of refused) this.#refused.set(id, error);
    if (dirty) this.#save();
    if (changed) for (const l of this.#listeners) l();
    return { lost, changed };
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
    return [...this.#byKey.values()].sort((a, b) =>
      a.protocol === b.protocol ? a.port - b.port : a.protocol < b.protocol ? -1 : 1,
    );
  }

  #load(stateDir: string): void {
    let text: string;
    try {
      text = readFileSync(this.#path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.diagnostics.push(
          diagWarning(`file ${this.#path}`, undefined, `cannot read port allocations: ${errorMessage(err)}`),
        );
      }
      try {
        mkdirSync(stateDir, { recursive: true });
      } catch {
        /* reported at the first save */
      }
      return;
    }
    const parsed = parseState(text);
    if (typeof parsed === 'string') {
      const aside = `${this.#path}.corrupt-${Date.now()}`;
      try {
        renameSync(this.#path, aside);
      } catch {
        /* keep going with an empty table */
      }
      this.diagnostics.push(
        diagWarning(`file ${this.#path}`, undefined, `${parsed}; moved aside to ${aside}, dynamic ports start afresh`),
      );
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
        try {
          fsyncSync(dfd);
        } finally {
          closeSync(dfd);
        }
      } catch {
        /* directory fsync unsupported: the rename is still atomic */
      }
      return undefined;
    } catch (err) {
      try {
        unlinkSync(tmp);
      } catch {
        /* nothing to clean */
      }
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
    if (!e || typeof e.key !== 'string' || (e.protocol !== 'tcp' && e.protocol !== 'udp') || !Number.isInteger(e.port))
      continue;
    out.push({
      key: e.key,
      protocol: e.protocol,
      port: e.port!,
      assignedAt: typeof e.assignedAt === 'string' ? e.assignedAt : new Date(0).toISOString(),
      ...(e.source === 'local' || e.source === 'fleet' ? { source: e.source } : {}),
    });
  }
  return { version: 1, allocations: out };
}
