import { readFileSync } from 'node:fs';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import type { TlsOptions } from '../config/dynamic/types.ts';
import { diagError, diagWarning, type Diagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';

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
export type ClientAuthType =
  | 'NoClientCert'
  | 'RequestClientCert'
  | 'RequireAnyClientCert'
  | 'VerifyClientCertIfGiven'
  | 'RequireAndVerifyClientCert';

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
export function compileTlsOptions(
  options: TlsOptions | undefined,
  element = 'tls.options.default',
  source = 'dynamic configuration',
): CompiledTlsOptions {
  const diagnostics: Diagnostic[] = [];
  const context: SecureContextOptions = {};
  const minVersion = versionOf(options?.minVersion, 'VersionTLS12', `${element}.minVersion`);
  const maxVersion = options?.maxVersion
    ? versionOf(options.maxVersion, 'VersionTLS13', `${element}.maxVersion`)
    : undefined;
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
    diagnostics.push(
      diagError(source, el, `unknown TLS version "${v}" (VersionTLS10 … VersionTLS13); using ${fallback}`),
    );
    return VERSIONS[fallback] ?? 'TLSv1.2';
  }
}

function isClientAuthType(t: string): t is ClientAuthType {
  return [
    'NoClientCert',
    'RequestClientCert',
    'RequireAnyClientCert',
    'VerifyClientCertIfGiven',
    'RequireAndVerifyClientCert',
  ].includes(t);
}
