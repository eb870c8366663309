import type { SecureContext, SecureContextOptions, SecureVersion, TLSSocket } from 'node:tls';
import type { TlsOptions } from '../config/dynamic/types.ts';
import type { CertificateStore } from './certificate-store.ts';
import { compileTlsOptions, type ClientAuthType, type CompiledTlsOptions } from './compile-tls-options.ts';
import { handshakePolicy, policyOfSocket, rememberPolicy, type HandshakePolicy, type TlsPolicy } from './policy.ts';

/** ALPN protocol of TLS-ALPN-01 validations (RFC 8737). */
export const ACME_TLS_ALPN = 'acme-tls/1';

/** Options for `tls.createServer` / `http2.createSecureServer`, driven by the certificate store. */
export interface TlsServerOptions {
  SNICallback: (this: TLSSocket, servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
  ALPNCallback: (arg: { servername: string; protocols: string[] }) => string | undefined;
  key?: string | Buffer;
  cert?: string | Buffer;
  minVersion: SecureVersion;
  maxVersion?: SecureVersion;
  ciphers?: string;
  ecdhCurve?: string;
  ca?: SecureContextOptions['ca'];
  requestCert: boolean;
  rejectUnauthorized: boolean;
  /**
   * The checks node:tls cannot make per name during the handshake: the client-auth policies it
   * has no mode for (RequireAnyClientCert, VerifyClientCertIfGiven) and the version bounds of the
   * name's options (OpenSSL fixes them per listener). False: close the connection.
   */
  verifyHandshake(socket: TLSSocket): boolean;
  /**
   * The store's default certificate now (absent under sniStrict). A hello without SNI is answered
   * from the listener's own `key`/`cert`, which the SNI callback never sees: the listener follows
   * this when a reload changes the default.
   */
  currentDefault?: () => { key: string | Buffer; cert: string | Buffer };
}

const VERSION_ORDER: Record<string, number> = { TLSv1: 1, 'TLSv1.1': 2, 'TLSv1.2': 3, 'TLSv1.3': 4 };

function versionAllowed(protocol: string | null, o: CompiledTlsOptions): boolean {
  const v = protocol ? VERSION_ORDER[protocol] : undefined;
  if (v === undefined) return true;
  if (v < (VERSION_ORDER[o.minVersion] ?? 0)) return false;
  return o.maxVersion === undefined || v <= (VERSION_ORDER[o.maxVersion] ?? 4);
}

/** Asks for (and optionally requires a verified) client certificate on this handshake only. */
function setVerifyMode(socket: TLSSocket, request: boolean, reject: boolean): void {
  (
    socket as unknown as { _handle?: { setVerifyMode?(request: boolean, reject: boolean): void } }
  )._handle?.setVerifyMode?.(request, reject);
}

/**
 * Server options for a TLS entrypoint: SNI selection from `store`, versions, ciphers, curves, ALPN
 * (server preference; `acme-tls/1` only while a TLS-ALPN-01 challenge runs for that name), client
 * authentication and sniStrict (an unknown or missing SNI fails the handshake). `current` gives the
 * TLS policy compiled into the snapshot in force, read once per handshake.
 */
export function tlsServerOptions(
  store: CertificateStore,
  options?: TlsOptions,
  current?: () => { readonly tlsPolicy: TlsPolicy },
): TlsServerOptions {
  const c = compileTlsOptions(options);
  const strict = c.sniStrict;
  const requestCert = c.clientAuthType !== 'NoClientCert';
  const fallback: HandshakePolicy = { name: 'default', options: c };
  const policyFor = (servername: string | undefined): HandshakePolicy =>
    current ? handshakePolicy(current().tlsPolicy, servername) : fallback;
  const result: TlsServerOptions = {
    // Called on the TLSSocket: the options of the routers for this name apply to this handshake
    // (certificate context with their CAs, versions and ciphers; whether a client certificate is
    // asked for and required), and the socket remembers them for the checks after the handshake.
    SNICallback(this: TLSSocket, servername, cb) {
      const pol = policyFor(servername);
      rememberPolicy(this, pol);
      const o = pol.options;
      if (o.clientAuthType !== c.clientAuthType)
        setVerifyMode(this, o.clientAuthType !== 'NoClientCert', o.clientAuthType === 'RequireAndVerifyClientCert');
      store.contextFor(servername, o.context, o.key, o.sniStrict, cb);
    },
    ALPNCallback: ({ servername, protocols }) => {
      if (protocols.includes(ACME_TLS_ALPN) && store.hasChallenge(servername)) return ACME_TLS_ALPN;
      return policyFor(servername).options.alpnProtocols.find((p) => protocols.includes(p));
    },
    verifyHandshake: (socket) => {
      const pol = policyOfSocket(socket) ?? fallback;
      return (
        clientCertificateAccepted(socket, pol.options.clientAuthType) &&
        versionAllowed(socket.getProtocol(), pol.options)
      );
    },
    minVersion: c.minVersion,
    requestCert,
    rejectUnauthorized: c.clientAuthType === 'RequireAndVerifyClientCert',
  };
  if (c.maxVersion) result.maxVersion = c.maxVersion;
  if (c.context.ciphers) result.ciphers = c.context.ciphers;
  if (c.context.ecdhCurve) result.ecdhCurve = c.context.ecdhCurve;
  if (c.context.ca) result.ca = c.context.ca;
  if (!strict) {
    // No SNI at all → the default certificate; under sniStrict there is none, so the handshake fails.
    const def = store.defaultCertificate();
    result.key = def.key;
    result.cert = def.cert;
    result.currentDefault = () => store.defaultCertificate();
  }
  return result;
}

/**
 * Checks a handshake against the client-auth policy where node:tls cannot (RequireAnyClientCert,
 * VerifyClientCertIfGiven). Returns false when the connection must be closed.
 */
export function clientCertificateAccepted(socket: TLSSocket, type: ClientAuthType): boolean {
  if (type === 'NoClientCert' || type === 'RequestClientCert') return true;
  const cert = socket.getPeerCertificate();
  const presented = cert !== null && Object.keys(cert).length > 0;
  if (type === 'RequireAnyClientCert') return presented;
  // node:tls judges the chain only when the listener itself asked for certificates; a name whose
  // options ask for them (SNI) is judged here from OpenSSL's own verdict.
  const verifyError =
    (socket as unknown as { _handle?: { verifyError?(): Error | null } })._handle?.verifyError?.() ?? null;
  const authorized = socket.authorized || (presented && verifyError === null);
  if (type === 'VerifyClientCertIfGiven') return !presented || authorized;
  return presented && authorized;
}
