import { readFileSync } from 'node:fs';
import type { SecureContext, SecureContextOptions, SecureVersion, TLSSocket } from 'node:tls';
import type { TlsOptions } from '../config/dynamic/types.ts';
import { diagError, diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';
import type { CertificateStore } from './certificate-store.ts';
import type { RoutingSnapshot } from '../pipeline/snapshot.ts';
import { handshakePolicy, policyOfSocket, rememberPolicy, type HandshakePolicy } from './policy.ts';

/** ALPN protocol of TLS-ALPN-01 validations (RFC 8737). */
export const ACME_TLS_ALPN = 'acme-tls/1';

const VERSIONS: Record<string, SecureVersion> = {
  VersionTLS10: 'TLSv1',
  VersionTLS11: 'TLSv1.1',
  VersionTLS12: 'TLSv1.2',
  VersionTLS13: 'TLSv1.3',
};

/** Go (crypto/tls) cipher suite names, as Traefik takes them, → OpenSSL names. */
const CIPHERS: Record<string, string> = {
  TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256: 'ECDHE-ECDSA-AES128-GCM-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256: 'ECDHE-RSA-AES128-GCM-SHA256',
  TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384: 'ECDHE-ECDSA-AES256-GCM-SHA384',
  TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384: 'ECDHE-RSA-AES256-GCM-SHA384',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-ECDSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256: 'ECDHE-RSA-CHACHA20-POLY1305',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA: 'ECDHE-ECDSA-AES128-SHA',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA: 'ECDHE-RSA-AES128-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA: 'ECDHE-ECDSA-AES256-SHA',
  TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA: 'ECDHE-RSA-AES256-SHA',
  TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256: 'ECDHE-ECDSA-AES128-SHA256',
  TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256: 'ECDHE-RSA-AES128-SHA256',
  TLS_RSA_WITH_AES_128_GCM_SHA256: 'AES128-GCM-SHA256',
  TLS_RSA_WITH_AES_256_GCM_SHA384: 'AES256-GCM-SHA384',
  TLS_RSA_WITH_AES_128_CBC_SHA: 'AES128-SHA',
  TLS_RSA_WITH_AES_256_CBC_SHA: 'AES256-SHA',
  TLS_RSA_WITH_AES_128_CBC_SHA256: 'AES128-SHA256',
  TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA: 'ECDHE-RSA-DES-CBC3-SHA',
  TLS_RSA_WITH_3DES_EDE_CBC_SHA: 'DES-CBC3-SHA',
  TLS_AES_128_GCM_SHA256: 'TLS_AES_128_GCM_SHA256',
  TLS_AES_256_GCM_SHA384: 'TLS_AES_256_GCM_SHA384',
  TLS_CHACHA20_POLY1305_SHA256: 'TLS_CHACHA20_POLY1305_SHA256',
};

/** Go ignores cipherSuites for TLS 1.3; Node would disable 1.3 without any 1.3 suite, so keep them. */
const TLS13_SUITES = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256'];

const CURVES: Record<string, string> = {
  CurveP256: 'P-256',
  CurveP384: 'P-384',
  CurveP521: 'P-521',
  X25519: 'X25519',
  secp256r1: 'P-256',
  secp384r1: 'P-384',
  secp521r1: 'P-521',
  x25519: 'X25519',
};

/** Traefik's clientAuthType values. */
export type ClientAuthType = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';

/** TLS options compiled for node:tls: context options (per certificate) and listener policy. */
export interface CompiledTlsOptions {
  context: SecureContextOptions;
  /** Stable key for caching contexts built with `context`. */
  key: string;
  minVersion: SecureVersion;
  maxVersion?: SecureVersion;
  alpnProtocols: string[];
  clientAuthType: ClientAuthType;
  sniStrict: boolean;
  diagnostics: Diagnostic[];
}

/** Turns Traefik `tls.options.<name>` into node:tls settings; unknown values become diagnostics. */
export function compileTlsOptions(options: TlsOptions | undefined, element = 'tls.options.default', source = 'dynamic configuration'): CompiledTlsOptions {
  const diagnostics: Diagnostic[] = [];
  const context: SecureContextOptions = {};
  const minVersion = versionOf(options?.minVersion, 'VersionTLS12', `${element}.minVersion`);
  const maxVersion = options?.maxVersion ? versionOf(options.maxVersion, 'VersionTLS13', `${element}.maxVersion`) : undefined;
  context.minVersion = minVersion;
  if (maxVersion) context.maxVersion = maxVersion;
  if (minVersion === 'TLSv1' || minVersion === 'TLSv1.1') {
    // OpenSSL 3's default security level refuses TLS < 1.2 even when allowed by version.
    context.ciphers = 'DEFAULT:@SECLEVEL=0';
  }
  if (options?.cipherSuites?.length) {
    const names: string[] = [];
    for (const s of options.cipherSuites) {
      const mapped = CIPHERS[s];
      if (mapped) names.push(mapped);
      else diagnostics.push(diagWarning(source, `${element}.cipherSuites`, `unknown cipher suite "${s}" ignored`));
    }
    if (!names.some((n) => n.startsWith('TLS_'))) names.push(...TLS13_SUITES);
    context.ciphers = names.join(':') + (minVersion === 'TLSv1' || minVersion === 'TLSv1.1' ? ':@SECLEVEL=0' : '');
  }
  if (options?.curvePreferences?.length) {
    const curves: string[] = [];
    for (const c of options.curvePreferences) {
      const mapped = CURVES[c];
      if (mapped) curves.push(mapped);
      else diagnostics.push(diagWarning(source, `${element}.curvePreferences`, `unknown curve "${c}" ignored`));
    }
    if (curves.length) context.ecdhCurve = curves.join(':');
  }
  let clientAuthType: ClientAuthType = 'NoClientCert';
  const ca = options?.clientAuth;
  if (ca) {
    const t = ca.clientAuthType ?? (ca.caFiles?.length ? 'RequireAndVerifyClientCert' : 'NoClientCert');
    if (isClientAuthType(t)) clientAuthType = t;
    else diagnostics.push(diagError(source, `${element}.clientAuth.clientAuthType`, `unknown clientAuthType "${t}"`));
    const pems: string[] = [];
    for (const f of ca.caFiles ?? []) {
      try {
        pems.push(f.includes('-----BEGIN') ? f : readFileSync(f, 'utf8'));
      } catch (err) {
        diagnostics.push(diagError(source, `${element}.clientAuth.caFiles`, `cannot read ${f}: ${errorMessage(err)}`));
      }
    }
    if (pems.length) context.ca = pems;
  }
  const alpnProtocols = options?.alpnProtocols?.length ? [...options.alpnProtocols] : ['h2', 'http/1.1'];
  return {
    context,
    key: JSON.stringify([context.minVersion, context.maxVersion, context.ciphers, context.ecdhCurve, context.ca]),
    minVersion,
    ...(maxVersion ? { maxVersion } : {}),
    alpnProtocols,
    clientAuthType,
    sniStrict: options?.sniStrict === true,
    diagnostics,
  };

  function versionOf(v: string | undefined, fallback: string, el: string): SecureVersion {
    const mapped = VERSIONS[v ?? fallback];
    if (mapped) return mapped;
    diagnostics.push(diagError(source, el, `unknown TLS version "${v}" (VersionTLS10 … VersionTLS13); using ${fallback}`));
    return VERSIONS[fallback] ?? 'TLSv1.2';
  }
}

function isClientAuthType(t: string): t is ClientAuthType {
  return ['NoClientCert', 'RequestClientCert', 'RequireAnyClientCert', 'VerifyClientCertIfGiven', 'RequireAndVerifyClientCert'].includes(t);
}

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
  (socket as unknown as { _handle?: { setVerifyMode?(request: boolean, reject: boolean): void } })._handle?.setVerifyMode?.(request, reject);
}

/**
 * Server options for a TLS entrypoint: SNI selection from `store`, versions, ciphers, curves, ALPN
 * (server preference; `acme-tls/1` only while a TLS-ALPN-01 challenge runs for that name), client
 * authentication and sniStrict (an unknown or missing SNI fails the handshake).
 */
export function tlsServerOptions(store: CertificateStore, options?: TlsOptions, current?: () => RoutingSnapshot): TlsServerOptions {
  const c = compileTlsOptions(options);
  const strict = c.sniStrict;
  const requestCert = c.clientAuthType !== 'NoClientCert';
  const fallback: HandshakePolicy = { name: 'default', options: c };
  const policyFor = (servername: string | undefined): HandshakePolicy => (current ? handshakePolicy(current(), servername) : fallback);
  const result: TlsServerOptions = {
    // Called on the TLSSocket: the options of the routers for this name apply to this handshake
    // (certificate context with their CAs, versions and ciphers; whether a client certificate is
    // asked for and required), and the socket remembers them for the checks after the handshake.
    SNICallback(this: TLSSocket, servername, cb) {
      const pol = policyFor(servername);
      rememberPolicy(this, pol);
      const o = pol.options;
      if (o.clientAuthType !== c.clientAuthType) setVerifyMode(this, o.clientAuthType !== 'NoClientCert', o.clientAuthType === 'RequireAndVerifyClientCert');
      store.contextFor(servername, o.context, o.key, o.sniStrict, cb);
    },
    ALPNCallback: ({ servername, protocols }) => {
      if (protocols.includes(ACME_TLS_ALPN) && store.hasChallenge(servername)) return ACME_TLS_ALPN;
      return policyFor(servername).options.alpnProtocols.find((p) => protocols.includes(p));
    },
    verifyHandshake: (socket) => {
      const pol = policyOfSocket(socket) ?? fallback;
      return clientCertificateAccepted(socket, pol.options.clientAuthType) && versionAllowed(socket.getProtocol(), pol.options);
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
  const verifyError = (socket as unknown as { _handle?: { verifyError?(): Error | null } })._handle?.verifyError?.() ?? null;
  const authorized = socket.authorized || (presented && verifyError === null);
  if (type === 'VerifyClientCertIfGiven') return !presented || authorized;
  return presented && authorized;
}

/**
 * Keeps a server's no-SNI certificate in step with the store's default (which a config reload or a
 * new `defaultCertificate` can change). Returns the unsubscribe function.
 */
export function followDefaultCertificate(server: { setSecureContext(options: SecureContextOptions): void }, store: CertificateStore, options?: TlsOptions): () => void {
  const c = compileTlsOptions(options);
  if (c.sniStrict) return () => undefined;
  let last = store.defaultCertificate();
  return store.onChange(() => {
    const def = store.defaultCertificate();
    if (def.cert === last.cert && def.key === last.key) return;
    last = def;
    server.setSecureContext({ ...c.context, key: def.key, cert: def.cert });
  });
}
