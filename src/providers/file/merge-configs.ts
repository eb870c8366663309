/**
 * Merges the configurations of the files of a directory into one. As in Traefik, the first definition
 * of a name (in path order) wins; unlike Traefik, which only logs a warning once, the duplicate becomes
 * an error diagnostic naming both files, so the conflict stays visible in `/health`.
 */
import type { CertAndStores, DynamicConfig } from '../../config/dynamic/types.ts';
import { diagError, type Diagnostic } from '../../lib/diagnostics.ts';

/** One decoded file. */
export interface FileConfig {
  readonly path: string;
  readonly config: DynamicConfig;
}

const MAP_KINDS = {
  http: ['routers', 'services', 'middlewares', 'serversTransports'],
  tcp: ['routers', 'services', 'middlewares', 'serversTransports'],
  udp: ['routers', 'services'],
  tls: ['options', 'stores'],
} as const;

type Section = keyof typeof MAP_KINDS;
type AnyMap = Record<string, unknown>;

/** Merges `files` in order; `source` is the diagnostics' source (`file provider directory /etc/dyn`). */
export function mergeFileConfigs(
  files: readonly FileConfig[],
  source: string,
): { config: DynamicConfig; diagnostics: Diagnostic[] } {
  const out: Record<string, Record<string, AnyMap>> = {};
  const origin = new Map<string, string>();
  const diagnostics: Diagnostic[] = [];
  const certificates: CertAndStores[] = [];
  const certSeen = new Set<string>();

  for (const { path, config } of files) {
    for (const section of Object.keys(MAP_KINDS) as Section[]) {
      const from = config[section] as Record<string, AnyMap | undefined> | undefined;
      if (!from) continue;
      const target = (out[section] ??= {});
      for (const kind of MAP_KINDS[section]) {
        const elements = from[kind];
        if (!elements) continue;
        const merged = (target[kind] ??= {});
        for (const [name, element] of Object.entries(elements)) {
          const key = `${section}.${kind}.${name}`;
          const first = origin.get(key);
          if (first !== undefined) {
            diagnostics.push(
              diagError(source, key, `defined in both ${first} and ${path}; the definition in ${first} is used`),
            );
            continue;
          }
          origin.set(key, path);
          merged[name] = element;
        }
      }
    }
    for (const cert of config.tls?.certificates ?? []) {
      // The same certificate listed in two files is served once (Traefik dedupes too).
      const key = `${cert.certFile}\0${cert.keyFile}`;
      if (certSeen.has(key)) continue;
      certSeen.add(key);
      certificates.push(cert);
    }
  }
  if (certificates.length > 0) (out['tls'] ??= {})['certificates'] = certificates as unknown as AnyMap;
  return { config: out as DynamicConfig, diagnostics };
}
