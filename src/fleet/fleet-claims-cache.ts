import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { parseFleetClaim, type FleetClaim, type FleetRefusal } from './redis-claim-store.ts';

/** What a host knows of the fleet's claims: the claims, each node's refusals, heartbeats, relay URLs. */
export interface FleetClaimsState {
  readonly claims: Map<string, FleetClaim>;
  readonly refusals: ReadonlyMap<string, readonly FleetRefusal[]>;
  readonly seen: ReadonlyMap<string, number>;
  readonly relays: ReadonlyMap<string, string>;
}

/**
 * The fleet's claims as last read from Redis, in `{stateDir}/fleet-claims.json`: a host that starts
 * while Redis is unreachable still refuses the hosts other hosts' containers hold, and still relays
 * them. Written only when it changed; an unreadable file is a cold cache, never a failure.
 */
export class FleetClaimsCache {
  private readonly path: string;
  private readonly log: Logger;
  private last = '';

  constructor(path: string, log: Logger) {
    this.path = path;
    this.log = log;
  }

  async read(): Promise<FleetClaimsState | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.warn(
          { path: this.path, err: errorMessage(err) },
          'fleet: claims cache unreadable; starting without it',
        );
      return undefined;
    }
    let raw: unknown;
    try {
      raw = JSON.parse(text);
    } catch (err) {
      this.log.warn(
        { path: this.path, err: errorMessage(err) },
        'fleet: claims cache is not JSON; starting without it',
      );
      return undefined;
    }
    if (typeof raw !== 'object' || raw === null || (raw as { version?: unknown }).version !== 1) return undefined;
    const doc = raw as Record<string, unknown>;
    const claims = new Map<string, FleetClaim>();
    for (const c of Array.isArray(doc['claims']) ? (doc['claims'] as unknown[]) : []) {
      const key = typeof c === 'object' && c !== null ? (c as { key?: unknown }).key : undefined;
      const parsed = typeof key === 'string' ? parseFleetClaim(key, JSON.stringify(c)) : undefined;
      if (parsed !== undefined) claims.set(parsed.key, parsed);
    }
    const refusals = new Map<string, FleetRefusal[]>();
    for (const [node, list] of entries(doc['refusals'])) {
      if (Array.isArray(list)) refusals.set(node, list.filter(isRefusal));
    }
    // Heartbeats are not kept (they change at every sync): refusals of other nodes show once Redis answers.
    const seen = new Map<string, number>();
    const relays = new Map<string, string>();
    for (const [node, url] of entries(doc['relays'])) if (typeof url === 'string') relays.set(node, url);
    this.last = text;
    return { claims, refusals, seen, relays };
  }

  /** Saves `state` when it differs from what the file holds; a failed write is logged and retried next time. */
  async write(state: FleetClaimsState): Promise<void> {
    const text = `${JSON.stringify(
      {
        version: 1,
        claims: [...state.claims.values()].sort((a, b) => (a.key < b.key ? -1 : 1)),
        refusals: Object.fromEntries(state.refusals),
        relays: Object.fromEntries(state.relays),
      },
      null,
      2,
    )}\n`;
    if (text === this.last) return;
    try {
      await writeFileAtomic(this.path, text, 0o644);
      this.last = text;
    } catch (err) {
      this.log.warn({ path: this.path, err: errorMessage(err) }, 'fleet: claims cache not written');
    }
  }
}

function entries(v: unknown): [string, unknown][] {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? Object.entries(v) : [];
}

function isRefusal(r: unknown): r is FleetRefusal {
  if (typeof r !== 'object' || r === null) return false;
  const o = r as Record<string, unknown>;
  return (
    typeof o['key'] === 'string' &&
    typeof o['daemon'] === 'string' &&
    typeof o['container'] === 'string' &&
    typeof o['element'] === 'string'
  );
}
