import type { SecureContext, SecureContextOptions } from 'node:tls';

/**
 * The certificate store as the TLS listeners see it: SNI → secure context. Implementations swap
 * certificates live; a listener never caches a context past one handshake.
 */
export interface TlsContextSource {
  /** `SNICallback` for node:tls / node:http2 servers: exact name → one-label wildcard → default. */
  sniCallback(servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void;
  /**
   * Like `sniCallback`, with a context built from `options` (cached under `optionsKey`); with
   * `strict`, a name no certificate covers fails the handshake (sniStrict).
   */
  contextFor(
    servername: string,
    options: SecureContextOptions,
    optionsKey: string,
    strict: boolean,
    cb: (err: Error | null, ctx?: SecureContext) => void,
  ): void;
  /** Key and certificate used when the client sends no SNI. */
  defaultCertificate(): { key: string | Buffer; cert: string | Buffer };
}
