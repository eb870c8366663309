import { BerthError, ErrorCodes } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import type { Dns01Provider } from './dns01-provider.ts';

/**
 * The DNS-01 providers berth implements, by their lego names (`dnsChallenge.provider`). Each is
 * loaded only when a resolver names it: the Cloudflare SDK or dns-packet are never loaded by a
 * berth that does not use them.
 */
const LOADERS: Readonly<Record<string, (env: NodeJS.ProcessEnv, log?: Logger) => Promise<Dns01Provider>>> = {
  cloudflare: async (env) => (await import('./cloudflare-dns01.ts')).createCloudflareDns01(env),
  rfc2136: async (env) => (await import('./rfc2136.ts')).createRfc2136Provider(env),
  exec: async (env, log) => (await import('./exec.ts')).createExecProvider(env, log),
  httpreq: async (env) => (await import('./httpreq.ts')).createHttpReqProvider(env),
  'acme-dns': async (env, log) => (await import('./acme-dns.ts')).createAcmeDnsProvider(env, log),
};

/** lego's alternative spellings. */
const ALIASES: Readonly<Record<string, string>> = { acmedns: 'acme-dns' };

/** Provider names `dnsChallenge.provider` accepts. */
export const DNS01_PROVIDERS: readonly string[] = [...Object.keys(LOADERS), ...Object.keys(ALIASES)];

/**
 * Creates the named provider with credentials from `env` (lego's variables, `*_FILE` too).
 * Unknown names and missing credentials are `DNS_PROVIDER` errors that say what to set.
 */
export async function loadDns01Provider(name: string, env: NodeJS.ProcessEnv, log?: Logger): Promise<Dns01Provider> {
  const key = name.trim().toLowerCase();
  const loader = LOADERS[ALIASES[key] ?? key];
  if (!loader)
    throw new BerthError(
      ErrorCodes.DNS_PROVIDER,
      `DNS provider "${name}" is not supported (supported: ${Object.keys(LOADERS).join(', ')})`,
    );
  return loader(env, log);
}
