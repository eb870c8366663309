import { createSecureContext, type SecureContext, type SecureContextOptions } from 'node:tls';
import { readFileSync } from 'node:fs';
import type { TlsContextSource } from './types.ts';
import type { TlsConfiguration } from '../config/dynamic/types.ts';
import { diagError, type Diagnostic } from '../lib/diagnostics.ts';
import { BerthError, ErrorCodes, errorMessage } from '../lib/errors.ts';
import { checkCertificatePair, normalizeName } from './certificate-info.ts';
import {
  better,
  type CertificateEntry as Entry,
  type CertificateIndex as Index,
  type CertificatePair,
  type ReplicatedCertificates,
  type Selection,
  type StoredCertificate,
  summary,
} from './stored-certificate.ts';
import { buildCertificate } from './x509-builder.ts';

const FILE_PREFIX = 'file:';

/**
 * The TLS certificate store: every certificate berth serves (file provider, ACME, default), indexed
 * for SNI. Selection is exact name → one-label wildcard → default; a wildcard never covers two
 * labels. Secure contexts are built lazily, cached per certificate and per option set, and dropped
 * with the certificate when it is swapped.
 */
export class CertificateStore implements TlsContextSource {
  private entries = new Map<string, Entry>();
  /** The last pair that loaded, per configured certificate (file path or inline position). */
  private lastGoodPairs = new Map<string, Entry>();
  private index: Index = { exact: new Map(), wildcard: new Map() };
  private current: Entry | undefined;
  private generated: Entry | undefined;
  private challenges = new Map<string, Entry>();
  private readonly contexts = new WeakMap<Entry, Map<string, SecureContext>>();
  private readonly listeners = new Set<() => void>();

  /**
   * The self-signed certificate served when nothing else is (RSA, as Traefik's), made on first use:
   * a worker takes the main thread's from its first state and never spends the RSA key generation.
   * RSA also matters: under TLS 1.3, OpenSSL keeps serving the listener's own certificate when an
   * SNI context brings one of the same key type signed by an issuer of the other type (an ECDSA
   * leaf under an RSA intermediate, as Let's Encrypt and pebble issue), so the default must not
   * share the slot of the usual ECDSA ACME certificates.
   */
  private get generatedDefault(): Entry {
    if (this.generated === undefined) {
      const made = buildCertificate({ commonName: 'TRAEFIK DEFAULT CERT', keyType: 'rsa' });
      const info = checkCertificatePair(made.key, made.cert);
      this.generated = { id: 'default@generated', source: 'generated', ...made, ...info, names: [] };
    }
    return this.generated;
  }

  /** The certificate for hellos without SNI or for names nothing covers. */
  private get defaultEntry(): Entry {
    this.current ??= this.generatedDefault;
    return this.current;
  }

  private set defaultEntry(entry: Entry) {
    this.current = entry;
  }

  /**
   * Adds or replaces the certificate `id`. The key must match the certificate; otherwise a
   * `BerthError` (TLS_CERT_INVALID) is thrown and the previous pair under `id` keeps serving.
   */
  put(id: string, pair: CertificatePair): StoredCertificate {
    const info = checkCertificatePair(pair.key, pair.cert);
    const entry: Entry = {
      id,
      key: pair.key,
      cert: pair.cert,
      source: pair.source,
      names: info.names,
      notAfter: info.notAfter,
      notBefore: info.notBefore,
      issuer: info.issuer,
    };
    const next = new Map(this.entries);
    next.set(id, entry);
    this.publish(next);
    return summary(entry);
  }

  /** Removes the certificate `id`; returns whether it existed. */
  remove(id: string): boolean {
    if (!this.entries.has(id)) return false;
    const next = new Map(this.entries);
    next.delete(id);
    this.publish(next);
    return true;
  }

  /** Every stored certificate (the default one last). */
  list(): StoredCertificate[] {
    return [...this.entries.values(), this.defaultEntry].map(summary);
  }

  /** The certificate that would be served for `servername` (undefined SNI → default). */
  select(servername: string | undefined): Selection {
    const { entry, match } = this.lookup(servername);
    return { id: entry.id, names: entry.names, match };
  }

  /**
   * Sets the default certificate (Traefik's `tls.stores.default.defaultCertificate`); undefined
   * restores the generated self-signed one. A mismatched pair throws and changes nothing.
   */
  setDefault(pair: CertificatePair | undefined): void {
    if (!pair) {
      this.defaultEntry = this.generatedDefault;
    } else {
      const info = checkCertificatePair(pair.key, pair.cert);
      this.defaultEntry = { id: 'default@file', key: pair.key, cert: pair.cert, source: 'default', ...info };
    }
    this.notify();
  }

  /** Serves `pair` for `name` during a TLS-ALPN-01 validation (RFC 8737); see {@link clearChallenge}. */
  setChallenge(name: string, pair: { key: string | Buffer; cert: string | Buffer }): void {
    const n = normalizeName(name);
    const next = new Map(this.challenges);
    next.set(n, {
      id: `challenge:${n}`,
      key: pair.key,
      cert: pair.cert,
      source: 'acme',
      names: [n],
      notAfter: new Date(),
      notBefore: new Date(),
      issuer: 'self',
    });
    this.challenges = next;
    this.notify();
  }

  /** Stops serving the TLS-ALPN-01 challenge certificate for `name`. */
  clearChallenge(name: string): void {
    const next = new Map(this.challenges);
    next.delete(normalizeName(name));
    this.challenges = next;
    this.notify();
  }

  /**
   * The whole served state, keys included, for replication to worker processes (one certificate
   * manager, many data-plane processes). PEM as strings so it crosses IPC unchanged.
   */
  exportState(): ReplicatedCertificates {
    const pem = (v: string | Buffer): string => (typeof v === 'string' ? v : v.toString('utf8'));
    return {
      entries: [...this.entries.values()].map((e) => ({
        id: e.id,
        key: pem(e.key),
        cert: pem(e.cert),
        source: e.source,
      })),
      default: {
        key: pem(this.defaultEntry.key),
        cert: pem(this.defaultEntry.cert),
        source: this.defaultEntry.source,
        id: this.defaultEntry.id,
      },
      challenges: [...this.challenges.entries()].map(([name, e]) => ({ name, key: pem(e.key), cert: pem(e.cert) })),
    };
  }

  /** Replaces the whole state with one exported by {@link exportState} (worker side). */
  importState(state: ReplicatedCertificates): void {
    const next = new Map<string, Entry>();
    for (const e of state.entries) {
      try {
        const info = checkCertificatePair(e.key, e.cert);
        next.set(e.id, {
          id: e.id,
          key: e.key,
          cert: e.cert,
          source: e.source,
          names: info.names,
          notAfter: info.notAfter,
          notBefore: info.notBefore,
          issuer: info.issuer,
        });
      } catch {
        // The primary validated it; a pair that does not check here is skipped, never served.
      }
    }
    try {
      const info = checkCertificatePair(state.default.key, state.default.cert);
      this.defaultEntry = {
        id: state.default.id,
        key: state.default.key,
        cert: state.default.cert,
        source: state.default.source,
        ...info,
        names: state.default.source === 'generated' ? [] : info.names,
      };
    } catch {
      this.defaultEntry = this.generatedDefault;
    }
    const challenges = new Map<string, Entry>();
    for (const c of state.challenges)
      challenges.set(c.name, {
        id: `challenge:${c.name}`,
        key: c.key,
        cert: c.cert,
        source: 'acme',
        names: [c.name],
        notAfter: new Date(),
        notBefore: new Date(),
        issuer: 'self',
      });
    this.challenges = challenges;
    this.publish(next);
  }

  /** Whether a TLS-ALPN-01 challenge certificate is being served for `name`. */
  hasChallenge(name: string): boolean {
    return this.challenges.has(normalizeName(name));
  }

  /** Called after every change of the served set (used by the API and tests). */
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Loads the file provider's certificates (`tls.certificates`, paths or inline PEM) and the default
   * store's `defaultCertificate`, replacing the previous file certificates. Bad pairs become
   * diagnostics and are skipped; the rest applies.
   */
  syncFromConfig(tls: TlsConfiguration | undefined, source = 'dynamic configuration'): Diagnostic[] {
    const diagnostics: Diagnostic[] = [];
    const next = new Map([...this.entries].filter(([id]) => !id.startsWith(FILE_PREFIX)));
    const good = new Map<string, Entry>();
    for (const [i, c] of (tls?.certificates ?? []).entries()) {
      const element = `tls.certificates[${i}]`;
      // A pair is remembered by its file (or its position when given inline) so that a broken
      // update (key not matching, file half-written) keeps serving the previous good pair.
      const slot = c.certFile.includes('-----BEGIN') ? `#${i}` : c.certFile;
      try {
        const key = readPem(c.keyFile);
        const cert = readPem(c.certFile);
        const info = checkCertificatePair(key, cert);
        const id = `${FILE_PREFIX}${info.fingerprint}`;
        const entry: Entry = { id, key, cert, source: 'file', ...info };
        next.set(id, entry);
        good.set(slot, entry);
      } catch (err) {
        const previous = this.lastGoodPairs.get(slot);
        if (previous) {
          next.set(previous.id, previous);
          good.set(slot, previous);
          diagnostics.push(
            diagError(source, element, `certificate not updated, the previous pair stays in use: ${errorMessage(err)}`),
          );
        } else {
          diagnostics.push(diagError(source, element, `certificate skipped: ${errorMessage(err)}`));
        }
      }
    }
    this.lastGoodPairs = good;
    this.publish(next);

    const def = tls?.stores?.['default']?.defaultCertificate;
    if (def) {
      try {
        this.setDefault({ key: readPem(def.keyFile), cert: readPem(def.certFile), source: 'default' });
      } catch (err) {
        diagnostics.push(
          diagError(
            source,
            'tls.stores.default.defaultCertificate',
            `default certificate not used, serving the generated one: ${errorMessage(err)}`,
          ),
        );
        this.setDefault(undefined);
      }
    } else if (this.defaultEntry !== this.generatedDefault) {
      this.setDefault(undefined);
    }
    return diagnostics;
  }

  /** `SNICallback` with default context options. */
  sniCallback(servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void {
    this.contextFor(servername, {}, '', false, cb);
  }

  /** Key and certificate for clients that send no SNI. */
  defaultCertificate(): { key: string | Buffer; cert: string | Buffer } {
    return { key: this.defaultEntry.key, cert: this.defaultEntry.cert };
  }

  /**
   * Resolves a secure context for `servername` built with `options` (cached under `optionsKey`).
   * With `strict`, a name no certificate covers fails the handshake instead of using the default.
   */
  contextFor(
    servername: string,
    options: SecureContextOptions,
    optionsKey: string,
    strict: boolean,
    cb: (err: Error | null, ctx?: SecureContext) => void,
  ): void {
    const { entry, match } = this.lookup(servername);
    if (strict && match === 'default') {
      cb(new BerthError(ErrorCodes.TLS_CERT_INVALID, `no certificate for SNI "${servername}" (sniStrict)`));
      return;
    }
    try {
      cb(null, this.context(entry, options, optionsKey));
    } catch (err) {
      cb(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private context(entry: Entry, options: SecureContextOptions, optionsKey: string): SecureContext {
    let byOptions = this.contexts.get(entry);
    if (!byOptions) {
      byOptions = new Map();
      this.contexts.set(entry, byOptions);
    }
    let ctx = byOptions.get(optionsKey);
    if (!ctx) {
      ctx = createSecureContext({ ...options, key: entry.key, cert: entry.cert });
      byOptions.set(optionsKey, ctx);
    }
    return ctx;
  }

  private lookup(servername: string | undefined): { entry: Entry; match: Selection['match'] } {
    if (!servername) return { entry: this.defaultEntry, match: 'default' };
    const name = normalizeName(servername);
    const challenge = this.challenges.get(name);
    if (challenge) return { entry: challenge, match: 'challenge' };
    const { exact, wildcard } = this.index;
    const e = exact.get(name);
    if (e) return { entry: e, match: 'exact' };
    const dot = name.indexOf('.');
    if (dot > 0) {
      const w = wildcard.get(name.slice(dot + 1));
      if (w) return { entry: w, match: 'wildcard' };
    }
    return { entry: this.defaultEntry, match: 'default' };
  }

  private publish(entries: Map<string, Entry>): void {
    const exact = new Map<string, Entry>();
    const wildcard = new Map<string, Entry>();
    const now = Date.now();
    for (const entry of entries.values()) {
      for (const n of entry.names) {
        const target = n.startsWith('*.') ? wildcard : exact;
        const key = n.startsWith('*.') ? n.slice(2) : n;
        const current = target.get(key);
        if (!current || better(entry, current, now)) target.set(key, entry);
      }
    }
    this.entries = entries;
    this.index = { exact, wildcard };
    this.notify();
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }
}

/** Traefik's certFile/keyFile: inline PEM or a path to one. */
function readPem(value: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return readFileSync(value, 'utf8');
  } catch (err) {
    throw new BerthError(ErrorCodes.TLS_CERT_INVALID, `cannot read ${value}: ${errorMessage(err)}`, { cause: err });
  }
}
