import { readFileSync } from 'node:fs';
import type * as acme from 'acme-client';
import type { CertResolverConfig } from '../config/static/types.ts';
import { parseDuration } from '../lib/duration.ts';
import { errorMessage } from '../lib/errors.ts';
import type { Logger } from '../lib/logger.ts';
import { configureCa } from './acme-http.ts';
import type { ChallengeSolver } from './challenges.ts';
import { advertisedProfiles } from './order.ts';
import { FileAcmeStorage, type AcmeStorage } from './storage.ts';

/** Let's Encrypt production, Traefik's default `caServer`. */
export const LETS_ENCRYPT_DIRECTORY = 'https://acme-v02.api.letsencrypt.org/directory';

/** One resolver at run time: its configuration, CA, storage, and the client and solver once made. */
export interface Runtime {
  name: string;
  config: CertResolverConfig['acme'];
  directoryUrl: string;
  storage: AcmeStorage;
  client?: Promise<acme.Client>;
  solver?: Promise<ChallengeSolver>;
}

/**
 * The resolvers' runtimes. Resolvers naming the same `storage` share one storage object (one
 * document, one writer); each CA's connection settings (`caCertificates`, `caSystemCertPool`,
 * `caServerName`, `clientTimeout`) are installed for its origin.
 */
export function buildRuntimes(
  resolvers: Record<string, CertResolverConfig>,
  log: Logger,
  storageFactory?: (path: string) => AcmeStorage,
): Runtime[] {
  const storages = new Map<string, AcmeStorage>();
  const out: Runtime[] = [];
  for (const [name, r] of Object.entries(resolvers)) {
    const path = r.acme.storage || 'acme.json';
    let storage = storages.get(path);
    if (!storage) {
      storage = storageFactory?.(path) ?? new FileAcmeStorage(path, log);
      storages.set(path, storage);
    }
    const directoryUrl = r.acme.caServer || LETS_ENCRYPT_DIRECTORY;
    out.push({ name, config: r.acme, directoryUrl, storage });
    const roots: string[] = [];
    for (const file of r.acme.caCertificates ?? []) {
      try {
        roots.push(readFileSync(file, 'utf8'));
      } catch (err) {
        log.error({ resolver: name, file, err: errorMessage(err) }, 'caCertificates file unreadable');
      }
    }
    const timeoutMs = parseDuration(r.acme.clientTimeout);
    configureCa(directoryUrl, {
      caCertificates: roots,
      caSystemCertPool: r.acme.caSystemCertPool === true,
      ...(r.acme.caServerName ? { caServerName: r.acme.caServerName } : {}),
      ...(timeoutMs ? { timeoutMs } : {}),
    });
  }
  return out;
}

/** A profile the CA does not advertise is sent anyway (as lego does), and said once. */
export async function checkProfile(rt: Runtime, log: Logger): Promise<void> {
  try {
    const profiles = await advertisedProfiles(rt.directoryUrl);
    if (profiles === undefined)
      log.warn(
        { resolver: rt.name, profile: rt.config.profile },
        'the CA advertises no certificate profiles; the profile is sent with each order but may be ignored',
      );
    else if (!profiles.includes(rt.config.profile!))
      log.warn(
        { resolver: rt.name, profile: rt.config.profile, offered: profiles },
        'the CA does not offer this certificate profile; its orders will be refused',
      );
  } catch (err) {
    log.debug({ resolver: rt.name, err: errorMessage(err) }, 'profiles of the CA not checked');
  }
}
