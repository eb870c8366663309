/**
 * Where the claim ledger lives. The file store keeps `{stateDir}/claims.json` on one host; a fleet
 * replaces it with a shared store (Redis) behind the same two calls.
 */
import { readFile, rename } from 'node:fs/promises';
import type { ClaimOwner } from '../../config/labels/claim-outcome.ts';
import type { RouterTlsConfig } from '../../config/dynamic/types.ts';
import { writeFileAtomic } from '../../lib/atomic-file.ts';
import type { Diagnostic } from '../../lib/diagnostics.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';

/** One held key and its owner, as the ledger keeps it. */
export interface ClaimRecord extends ClaimOwner {
  /** `host app.example.com`, `tcp-catchall tcp-5432`, `name http.services.web` (see labels/claims.ts). */
  readonly key: string;
  /** The endpoint the owner's daemon is reached at (`unix:///var/run/rediacc/docker-2816.sock`). */
  readonly endpoint: string;
  readonly since: number;
  /** Epoch ms at which the owner stopped serving; the claim ends a grace period later. */
  readonly stoppedAt?: number;
  /** How the owner's HTTP routers take a host key (a fleet relays it from other hosts with this). */
  readonly route?: ClaimRoute;
}

/**
 * The entrypoints and TLS settings of the HTTP routers that take a host: what another host of a
 * fleet needs to accept that host's requests and relay them to the owner's host.
 */
export interface ClaimRoute {
  /** Absent: every HTTP entrypoint, as for a router without `entryPoints`. */
  readonly entryPoints?: readonly string[];
  readonly tls?: RouterTlsConfig;
}

/** A claimant refused here because another host of the fleet holds the key (shown on that host too). */
export interface SharedRefusal {
  readonly key: string;
  /** The refused container, as a claim owner (its claim is put to the fleet again at every sync). */
  readonly claimant: ClaimOwner;
  /** `http.routers.x`, the element dropped. */
  readonly element: string;
}

/**
 * A fleet's side of the ledger: keys that other hosts' containers hold (their daemons are not
 * visible here), and who was refused where. Answers come from a local cache, so deciding never
 * waits on the network; the cache follows the fleet in the background.
 */
export interface SharedClaims {
  /** Keys held by other hosts' containers, owners named `daemon@node`; reserved here as well. */
  held(): ReadonlyMap<string, ClaimOwner>;
  /** Calls `listener` when `held()` or `diagnostics()` changed: the provider decodes again. */
  onChange(listener: () => void): void;
  /** This host's claimants refused because another host holds the key, after every decode. */
  report(refused: readonly SharedRefusal[]): void;
  /** Other hosts' claimants refused because this host holds the key, as diagnostics for this host. */
  diagnostics(): readonly Diagnostic[];
}

/** Persistence of the claim ledger: the whole ledger is read once and written on every change. */
export interface ClaimStore {
  /** Where the ledger is kept, for logs. */
  readonly location: string;
  /** The saved claims; an unreadable or corrupt ledger yields what can be trusted (possibly none), never a throw. */
  load(): Promise<readonly ClaimRecord[]>;
  /** Replaces the saved ledger; rejects when it cannot be written (the caller keeps its copy and retries). */
  save(records: readonly ClaimRecord[]): Promise<void>;
  /** In a fleet: the claims of the other hosts. */
  readonly shared?: SharedClaims | undefined;
}

interface LedgerFile {
  readonly version: 1;
  readonly claims: readonly ClaimRecord[];
}

/** The ledger file: JSON, written atomically; a corrupt file is moved aside instead of stopping berth. */
export class FileClaimStore implements ClaimStore {
  readonly location: string;
  readonly shared = undefined;
  private readonly log: Logger;
  private writing: Promise<void> = Promise.resolve();

  constructor(path: string, log: Logger) {
    this.location = path;
    this.log = log;
  }

  async load(): Promise<readonly ClaimRecord[]> {
    let text: string;
    try {
      text = await readFile(this.location, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        this.log.error(
          { path: this.location, err: errorMessage(err) },
          'claim ledger unreadable: starting without held claims',
        );
      return [];
    }
    const parsed = parseLedger(text);
    if (typeof parsed === 'string') {
      const aside = `${this.location}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      try {
        await rename(this.location, aside);
        this.log.error(
          { path: this.location, quarantined: aside, err: parsed },
          'claim ledger is corrupt: moved aside, claims start afresh from container creation order',
        );
      } catch (renameErr) {
        this.log.error(
          { path: this.location, err: parsed, renameErr: errorMessage(renameErr) },
          'claim ledger is corrupt and cannot be moved aside: claims start afresh from container creation order',
        );
      }
      return [];
    }
    if (parsed.skipped > 0)
      this.log.warn({ path: this.location, skipped: parsed.skipped }, 'claim ledger: malformed entries skipped');
    return parsed.records;
  }

  save(records: readonly ClaimRecord[]): Promise<void> {
    const file: LedgerFile = {
      version: 1,
      claims: [...records].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)),
    };
    const text = `${JSON.stringify(file, null, 2)}\n`;
    // Writes are serialised in call order, so the last call's ledger is the one left on disk.
    const next = this.writing.catch(() => undefined).then(() => writeFileAtomic(this.location, text, 0o644));
    this.writing = next;
    return next;
  }
}

/** Parses a ledger file: the records it holds, or why the whole file cannot be trusted. */
export function parseLedger(text: string): { records: ClaimRecord[]; skipped: number } | string {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    return `not JSON: ${errorMessage(err)}`;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return 'not a JSON object';
  const doc = raw as Record<string, unknown>;
  if (doc['version'] !== 1) return `unknown version ${JSON.stringify(doc['version'])}`;
  if (!Array.isArray(doc['claims'])) return '"claims" is not a list';
  const records: ClaimRecord[] = [];
  let skipped = 0;
  for (const item of doc['claims'] as unknown[]) {
    const r = toRecord(item);
    if (r === undefined) skipped++;
    else records.push(r);
  }
  return { records, skipped };
}

function toRecord(item: unknown): ClaimRecord | undefined {
  if (typeof item !== 'object' || item === null) return undefined;
  const o = item as Record<string, unknown>;
  const claim = parseStoredClaim(o);
  const key = claimString(o, 'key');
  const endpoint = claimString(o, 'endpoint');
  if (claim === undefined || key === undefined || endpoint === undefined) return undefined;
  return { key, endpoint, ...claim };
}

/** What every stored claim holds, in the ledger's file and in a fleet's Redis alike. */
export type StoredClaim = Omit<ClaimOwner, 'since'> & {
  readonly since: number;
  readonly stoppedAt?: number;
  readonly route?: ClaimRoute;
};

/** A non-empty string field of a claim read back from JSON, else undefined. */
export function claimString(o: Readonly<Record<string, unknown>>, k: string): string | undefined {
  const v = o[k];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * The {@link StoredClaim} fields of a claim read back from JSON (a file, Redis); undefined when a
 * required one is missing or malformed. Optional fields that are not well-formed are left out.
 */
export function parseStoredClaim(o: Readonly<Record<string, unknown>>): StoredClaim | undefined {
  const num = (k: string): number | undefined => {
    const v = o[k];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  };
  const daemon = claimString(o, 'daemon');
  const container = claimString(o, 'container');
  const containerId = claimString(o, 'containerId');
  const since = num('since');
  if (daemon === undefined || container === undefined || containerId === undefined || since === undefined)
    return undefined;
  const repository = claimString(o, 'repository');
  const created = claimString(o, 'created');
  const stoppedAt = num('stoppedAt');
  const route = parseClaimRoute(o['route']);
  return {
    daemon,
    container,
    containerId,
    since,
    ...(repository !== undefined ? { repository } : {}),
    ...(created !== undefined ? { created } : {}),
    ...(stoppedAt !== undefined ? { stoppedAt } : {}),
    ...(route !== undefined ? { route } : {}),
  };
}

/** A {@link ClaimRoute} read back from JSON (a file, Redis); what is not well-formed is left out. */
export function parseClaimRoute(raw: unknown): ClaimRoute | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const o = raw as Record<string, unknown>;
  const strings = (v: unknown): string[] | undefined =>
    Array.isArray(v) && v.every((x) => typeof x === 'string') ? [...(v as string[])] : undefined;
  const entryPoints = strings(o['entryPoints']);
  let tls: RouterTlsConfig | undefined;
  const t = o['tls'];
  if (typeof t === 'object' && t !== null && !Array.isArray(t)) {
    const r = t as Record<string, unknown>;
    const domains: { main: string; sans?: string[] }[] = [];
    for (const d of Array.isArray(r['domains']) ? (r['domains'] as unknown[]) : []) {
      if (typeof d !== 'object' || d === null) continue;
      const main = (d as Record<string, unknown>)['main'];
      const sans = strings((d as Record<string, unknown>)['sans']);
      if (typeof main === 'string') domains.push({ main, ...(sans ? { sans } : {}) });
    }
    tls = {
      ...(typeof r['certResolver'] === 'string' ? { certResolver: r['certResolver'] } : {}),
      ...(typeof r['options'] === 'string' ? { options: r['options'] } : {}),
      ...(domains.length > 0 ? { domains } : {}),
    };
  }
  if (entryPoints === undefined && tls === undefined) return {};
  return { ...(entryPoints !== undefined ? { entryPoints } : {}), ...(tls !== undefined ? { tls } : {}) };
}
