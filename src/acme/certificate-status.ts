import { nameMatches } from '../tls/certificate-info.ts';
import type { WantedCertificate } from './wanted.ts';

/** Life-cycle state of one certificate, as `/health` and `berth certs` show it. */
export type CertificateState = 'pending' | 'ordering' | 'valid' | 'renewing' | 'failed' | 'expired';

/** One row of the manager's `status()`. */
export interface CertificateStatus {
  resolver: string;
  main: string;
  sans: string[];
  /** Names of the certificate in hand (empty until one is issued). */
  names: string[];
  notAfter?: string;
  state: CertificateState;
  lastError?: string;
  nextAttempt?: string;
  routers: string[];
}

/** One row of the manager's `storageStatus()`: whether a resolver's storage holds what it should. */
export interface StorageStatus {
  resolver: string;
  /** Where the resolver's account and certificates are written (`acme.storage`). */
  storage: string;
  /** False while something (account, certificate) exists only in memory and its write is being retried. */
  stored: boolean;
  /** Writes of the storage that failed since start. */
  failedWrites: number;
}

/** A certificate in hand. */
export interface Managed {
  resolver: string;
  main: string;
  sans: string[];
  names: string[];
  notBefore: number;
  notAfter: number;
}

/** An order (or renewal) berth wants, running or waiting for its next attempt. */
export interface Job {
  key: string;
  resolver: string;
  main: string;
  sans: string[];
  renewal: boolean;
  state: CertificateState;
  attempts: number;
  lastError?: string;
  nextAttempt?: number;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

/** The key of an order: resolver and its sorted names. */
export function jobKey(resolver: string, main: string, sans: string[]): string {
  return `${resolver}|${[main, ...sans.filter((s) => s !== main)].sort().join(',')}`;
}

/** Rows for `/health` and `berth certs`: certificates in hand (with their renewal), then orders without one. */
export function statusRows(
  managed: ReadonlyMap<string, Managed>,
  jobs: ReadonlyMap<string, Job>,
  wanted: readonly WantedCertificate[],
  now: number,
  unstored: (resolver: string) => string | undefined,
): CertificateStatus[] {
  const rows: CertificateStatus[] = [];
  for (const [key, m] of managed) {
    const job = jobs.get(`renew|${key}`);
    const routers = wanted
      .filter((w) => w.mustCover.every((n) => m.names.some((p) => nameMatches(p, n))))
      .flatMap((w) => w.routers);
    const row: CertificateStatus = {
      resolver: m.resolver,
      main: m.main,
      sans: m.sans,
      names: m.names,
      notAfter: new Date(m.notAfter).toISOString(),
      state: m.notAfter <= now ? 'expired' : 'valid',
      routers,
    };
    const storeError = unstored(m.resolver);
    if (storeError !== undefined) row.lastError = storeError;
    if (job && job.state !== 'valid') {
      row.state = job.state === 'failed' ? 'failed' : 'renewing';
      if (job.lastError) row.lastError = job.lastError;
      if (job.nextAttempt) row.nextAttempt = new Date(job.nextAttempt).toISOString();
    }
    rows.push(row);
  }
  for (const job of jobs.values()) {
    if (job.renewal || job.state === 'valid') continue;
    const w = wanted.find((x) => jobKey(x.resolver, x.main, x.sans) === job.key);
    const row: CertificateStatus = {
      resolver: job.resolver,
      main: job.main,
      sans: job.sans,
      names: [],
      state: job.state,
      routers: w?.routers ?? [],
    };
    if (job.lastError) row.lastError = job.lastError;
    if (job.nextAttempt) row.nextAttempt = new Date(job.nextAttempt).toISOString();
    rows.push(row);
  }
  return rows;
}
