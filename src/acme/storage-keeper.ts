import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import {
  StaleLeaseError,
  type AcmeAccountRecord,
  type AcmeCertificateRecord,
  type AcmeResolverData,
  type AcmeStorage,
  type AcmeStore,
  type StorageLease,
} from './storage.ts';

/**
 * Keeps each storage's document in memory and writes it, per resolver: a failed write leaves what
 * it held in memory and in use, marks the resolver as not stored, and is retried with backoff
 * until a write succeeds (which stores everything pending). Resolvers may share one storage.
 */
export class StorageKeeper {
  private readonly docs = new Map<AcmeStorage, Promise<AcmeStore>>();
  /** Pending rewrites of a resolver's storage after a failed write. */
  private readonly retries = new Map<
    string,
    { attempts: number; timer: NodeJS.Timeout; message: string; storage: AcmeStorage }
  >();
  /** Failed writes of a resolver's storage since start (metrics). */
  private readonly failures = new Map<string, number>();
  private readonly log: Logger;
  private readonly backoff: (attempts: number) => number;
  private stopped = false;

  constructor(log: Logger, backoff: (attempts: number) => number) {
    this.log = log;
    this.backoff = backoff;
  }

  /** The document of `storage`, read once (a failed read is tried again next time). */
  doc(storage: AcmeStorage): Promise<AcmeStore> {
    let d = this.docs.get(storage);
    if (!d) {
      d = storage.read();
      this.docs.set(storage, d);
      d.catch(() => this.docs.delete(storage));
    }
    return d;
  }

  /** The resolver's section of its document, created when missing. */
  async section(storage: AcmeStorage, resolver: string): Promise<AcmeResolverData> {
    const doc = await this.doc(storage);
    return (doc[resolver] ??= { Account: null, Certificates: [] });
  }

  /** Stores the account; a failure is retried later (the account works from memory meanwhile). */
  async putAccount(storage: AcmeStorage, resolver: string, account: AcmeAccountRecord): Promise<void> {
    (await this.section(storage, resolver)).Account = account;
    try {
      await this.write(storage, resolver, { resolver, account: true });
    } catch (err) {
      this.later(storage, resolver, err);
    }
  }

  /**
   * Stores a certificate (replacing the one with the same main name). A stale lease throws
   * {@link StaleLeaseError} and leaves the document as it was; any other failure is retried later.
   */
  async putCertificate(
    storage: AcmeStorage,
    resolver: string,
    rec: AcmeCertificateRecord,
    lease?: StorageLease,
  ): Promise<void> {
    const list = ((await this.section(storage, resolver)).Certificates ??= []);
    const i = list.findIndex((c) => c.domain.main === rec.domain.main);
    const previous = i >= 0 ? list[i] : undefined;
    if (i >= 0) list[i] = rec;
    else list.push(rec);
    try {
      await this.write(storage, resolver, { resolver, certificate: rec.domain.main }, lease);
    } catch (err) {
      if (err instanceof StaleLeaseError) {
        const j = list.indexOf(rec);
        if (previous) list[j] = previous;
        else list.splice(j, 1);
        throw err;
      }
      this.later(storage, resolver, err);
    }
  }

  /** Why the resolver's storage lacks something, while a write is pending. */
  unstored(resolver: string): string | undefined {
    return this.retries.get(resolver)?.message;
  }

  /** Failed writes since start. */
  failedWrites(resolver: string): number {
    return this.failures.get(resolver) ?? 0;
  }

  /** Cancels pending retries and tries each once more: after this it exists nowhere but at the CA. */
  async stop(): Promise<void> {
    this.stopped = true;
    const pending = [...this.retries.entries()];
    for (const [, r] of pending) clearTimeout(r.timer);
    await Promise.all(
      pending.map(async ([resolver, r]) => {
        try {
          await this.write(r.storage, resolver);
        } catch (err) {
          this.log.error(
            { resolver, storage: r.storage.location, err: errorMessage(err) },
            'ACME storage still cannot be written at shutdown; certificates issued since the last write will be ordered again',
          );
        }
      }),
    );
  }

  /** Writes the document; a success settles every pending retry of resolvers on that storage. */
  private async write(
    storage: AcmeStorage,
    resolver: string,
    change?: Parameters<AcmeStorage['write']>[1],
    lease?: StorageLease,
  ): Promise<void> {
    await storage.write(await this.doc(storage), change, lease);
    for (const [name, r] of [...this.retries]) {
      if (r.storage !== storage && name !== resolver) continue;
      clearTimeout(r.timer);
      this.retries.delete(name);
      this.log.info({ resolver: name, storage: storage.location }, 'ACME storage written after earlier failures');
    }
  }

  private later(storage: AcmeStorage, resolver: string, err: unknown): void {
    const attempts = (this.retries.get(resolver)?.attempts ?? 0) + 1;
    const delay = this.backoff(attempts);
    const message = `not stored in ${storage.location}: ${errorMessage(err)}`;
    this.failures.set(resolver, (this.failures.get(resolver) ?? 0) + 1);
    this.log.error(
      { resolver, storage: storage.location, attempt: attempts, retryInMs: delay, err: errorMessage(err) },
      'ACME storage could not be written; what it holds is kept in memory and the write is retried',
    );
    const previous = this.retries.get(resolver);
    if (previous) clearTimeout(previous.timer);
    const timer = setTimeout(() => {
      if (this.stopped) return;
      this.write(storage, resolver).catch((e: unknown) => this.later(storage, resolver, e));
    }, delay);
    timer.unref();
    this.retries.set(resolver, { attempts, timer, message, storage });
  }
}
