import { X509Certificate } from 'node:crypto';
import { chmod, mkdir, readFile, readdir, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../lib/atomic-file.ts';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';

/**
 * ACME storage in Traefik's `acme.json` shape, so a Traefik-written file loads unchanged and
 * traefik-certs-dumper reads berth's:
 *
 * ```json
 * { "<resolver>": {
 *     "Account": { "Email": "", "Registration": { "body": {…}, "uri": "…" }, "PrivateKey": "<base64 DER>", "KeyType": "4096" },
 *     "Certificates": [ { "domain": { "main": "…", "sans": ["…"] }, "certificate": "<base64 PEM>", "key": "<base64 PEM>", "Store": "default" } ] } }
 * ```
 */

/** Traefik's `acme.Account` (lego registration resource). */
export interface AcmeAccountRecord {
  Email: string;
  Registration: { body: unknown; uri: string } | null;
  /** Base64 of the DER private key (PKCS#1 for RSA, as Traefik writes it). */
  PrivateKey: string;
  KeyType: string;
}

/** Traefik's `acme.CertAndStore`. */
export interface AcmeCertificateRecord {
  domain: { main: string; sans?: string[] | null };
  /** Base64 of the PEM chain. */
  certificate: string;
  /** Base64 of the PEM private key. */
  key: string;
  Store: string;
}

/** One resolver's section. */
export interface AcmeResolverData {
  Account: AcmeAccountRecord | null;
  Certificates: AcmeCertificateRecord[] | null;
}

/** The whole document: resolver name → data. */
export type AcmeStore = Record<string, AcmeResolverData>;

/** An order lease held in a shared storage: one order per certificate across a fleet. */
export interface StorageLease {
  /** Fencing token: grows with every grant of this lease; writes with an older one are refused. */
  readonly token: number;
  /** Aborted when the lease is lost (expired and taken by another host, or released). */
  readonly signal: AbortSignal;
  release(): Promise<void>;
}

/** The answer to {@link AcmeStorage.lock}. */
export type LockResult =
  | { readonly lease: StorageLease }
  /** Another host holds it: try again after `retryInMs` (its expiry) unless its result arrives first. */
  | { readonly heldBy: string; readonly retryInMs: number }
  /** The shared storage cannot be reached. */
  | { readonly unavailable: string };

/** What a write changes, so a shared storage can write that record alone (and check its lease). */
export type StorageChange =
  | { readonly resolver: string; readonly account: true }
  | { readonly resolver: string; readonly certificate: string };

/** A write refused because the writer's lease was granted to another host since (fencing). */
export class StaleLeaseError extends BerthError {
  constructor(message: string) {
    super(ErrorCodes.STORAGE, message);
    this.name = 'StaleLeaseError';
  }
}

/**
 * Where ACME state lives. The file is the embedded default; a shared store (Redis) adds `lock`
 * (one order per certificate across a fleet) and `onChange` (another host stored something).
 */
export interface AcmeStorage {
  read(): Promise<AcmeStore>;
  /** Writes the document; `change` names the record that changed, `lease` the order it comes from. */
  write(store: AcmeStore, change?: StorageChange, lease?: StorageLease): Promise<void>;
  /** Takes the order lease for `key` (optional: a single process needs none). */
  lock?(key: string): Promise<LockResult>;
  /** Called when the storage's content changed elsewhere; returns the unsubscribe function. */
  onChange?(listener: () => void): () => void;
  /** Human-readable location for logs and `berth certs`. */
  readonly location: string;
}

/** `acme.json` on disk: mode 0600, atomic writes, a corrupt file quarantined instead of a boot loop. */
export class FileAcmeStorage implements AcmeStorage {
  readonly location: string;
  private readonly log: Logger | undefined;
  private writing: Promise<void> = Promise.resolve();

  constructor(path: string, log?: Logger) {
    this.location = path;
    this.log = log;
  }

  /**
   * Reads the file. Missing or empty → `{}`. Unparseable → moved aside to
   * `acme.json.corrupt-<timestamp>`, logged, and `{}` returned so berth starts and re-orders.
   */
  async read(): Promise<AcmeStore> {
    const path = this.location;
    await this.removeStaleTemps();
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw new BerthError(ErrorCodes.STORAGE, `cannot read ${path}: ${errorMessage(err)}`, { cause: err });
    }
    await this.tightenMode();
    if (text.trim() === '') return {};
    try {
      return decodeStore(JSON.parse(text));
    } catch (err) {
      const aside = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      try {
        await rename(path, aside);
      } catch (renameErr) {
        throw new BerthError(
          ErrorCodes.STORAGE,
          `${path} is corrupt and cannot be moved aside: ${errorMessage(renameErr)}`,
          { cause: renameErr },
        );
      }
      this.log?.error(
        { path, quarantined: aside, err: errorMessage(err) },
        'acme storage is corrupt: moved aside, starting with an empty store',
      );
      return {};
    }
  }

  /** Writes the whole document atomically (writes are serialised in call order). */
  write(store: AcmeStore, _change?: StorageChange, _lease?: StorageLease): Promise<void> {
    const data = JSON.stringify(store, null, 2);
    const next = this.writing.then(async () => {
      await mkdir(dirname(this.location), { recursive: true, mode: 0o700 });
      await writeFileAtomic(this.location, data, 0o600);
    });
    this.writing = next.catch(() => undefined);
    return next;
  }

  private async tightenMode(): Promise<void> {
    try {
      const st = await stat(this.location);
      if ((st.mode & 0o077) !== 0) {
        await chmod(this.location, 0o600);
        this.log?.warn(
          { path: this.location, mode: (st.mode & 0o777).toString(8) },
          'acme storage was readable by others: mode set to 0600',
        );
      }
    } catch {
      // best effort
    }
  }

  // Temp files of writes interrupted by a crash; the real file is intact, these are litter.
  private async removeStaleTemps(): Promise<void> {
    const dir = dirname(this.location);
    const prefix = `.${basename(this.location)}.`;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      return;
    }
    for (const n of names) {
      if (n.startsWith(prefix) && n.endsWith('.tmp')) await unlink(join(dir, n)).catch(() => undefined);
    }
  }
}

/** Validates the document's shape loosely (Traefik's own files have nulls and extra keys). */
export function decodeStore(raw: unknown): AcmeStore {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new Error('top level is not an object');
  const out: AcmeStore = {};
  for (const [name, section] of Object.entries(raw as Record<string, unknown>)) {
    if (section === null) continue;
    if (typeof section !== 'object' || Array.isArray(section)) throw new Error(`resolver "${name}" is not an object`);
    const s = section as Record<string, unknown>;
    const account = s['Account'];
    const certs = s['Certificates'];
    if (account !== undefined && account !== null && typeof account !== 'object')
      throw new Error(`resolver "${name}": Account is not an object`);
    if (certs !== undefined && certs !== null && !Array.isArray(certs))
      throw new Error(`resolver "${name}": Certificates is not a list`);
    out[name] = {
      Account: (account as AcmeAccountRecord | undefined) ?? null,
      Certificates: ((certs as unknown[] | undefined | null) ?? []).filter(isCertificateRecord),
    };
  }
  return out;
}

function isCertificateRecord(v: unknown): v is AcmeCertificateRecord {
  if (!v || typeof v !== 'object') return false;
  const r = v as Record<string, unknown>;
  const d = r['domain'] as Record<string, unknown> | undefined;
  // Traefik drops entries without certificate or key too.
  return (
    typeof r['certificate'] === 'string' &&
    r['certificate'] !== '' &&
    typeof r['key'] === 'string' &&
    r['key'] !== '' &&
    !!d &&
    typeof d['main'] === 'string'
  );
}

/** `notAfter` (epoch ms) of a stored certificate's leaf, 0 when it cannot be read. */
export function recordNotAfter(rec: AcmeCertificateRecord): number {
  try {
    return new Date(new X509Certificate(Buffer.from(rec.certificate, 'base64')).validTo).getTime();
  } catch {
    return 0;
  }
}

/**
 * Merges `from` into `into`: per resolver, a certificate (by `domain.main`) is taken when `into`
 * has none or an older one, an account when `into` has none. Returns what was taken.
 */
export function mergeStores(
  into: AcmeStore,
  from: AcmeStore,
): { certificates: { resolver: string; record: AcmeCertificateRecord }[]; accounts: string[] } {
  const out = { certificates: [] as { resolver: string; record: AcmeCertificateRecord }[], accounts: [] as string[] };
  for (const [resolver, section] of Object.entries(from)) {
    const mine = (into[resolver] ??= { Account: null, Certificates: [] });
    if (section.Account && !mine.Account) {
      mine.Account = section.Account;
      out.accounts.push(resolver);
    }
    const list = (mine.Certificates ??= []);
    for (const rec of section.Certificates ?? []) {
      const i = list.findIndex((c) => c.domain.main === rec.domain.main);
      if (i >= 0 && recordNotAfter(list[i]!) >= recordNotAfter(rec)) continue;
      if (i >= 0) list[i] = rec;
      else list.push(rec);
      out.certificates.push({ resolver, record: rec });
    }
  }
  return out;
}
