/**
 * The static configuration as the rest of berth reads it: inferred from the declaration in
 * `schema.ts`, after `decodeStaticConfig` has filled every default named there (a key declared with
 * a default is present after decoding, even where the type keeps it optional) and added what is
 * derived: each entrypoint's parsed address, and the Docker provider's effective endpoint list.
 *
 * Durations are Go duration strings (`60s`, `1m30s`); a bare number of seconds in the input comes
 * out as `"<n>s"`. Read them with `parseDuration` from `src/lib/duration.ts`.
 */
import type { InferOutput } from 'valibot';
import type { ListenAddress } from './address.ts';
import type { entryPointSchema } from './entrypoint-schema.ts';
import type { staticConfigSchema } from './schema.ts';

type Decoded = InferOutput<typeof staticConfigSchema>;

/** One entrypoint: as declared, plus its parsed address. */
export type EntryPointConfig = InferOutput<typeof entryPointSchema> &
  ListenAddress & {
    /** berth: generated from `edge` (true) or written by the user (false/absent). */
    generated?: boolean;
    /**
     * berth: opened only while routers name it (a dynamic port, an RPROXY port) and closed when none
     * does; never one of the entrypoints a router without `entryPoints` attaches to.
     */
    onDemand?: boolean;
  };

/** An entrypoint's `http` section. */
export type EntryPointHttp = NonNullable<EntryPointConfig['http']>;

/** `providers.docker`, with the effective endpoint list. */
export type DockerProviderConfig = Omit<NonNullable<Decoded['providers']['docker']>, 'rescanInterval'> & {
  /**
   * berth: the effective list of endpoints, each `unix://…`, `tcp://…` (or http(s)://) or a glob of
   * unix sockets: `endpoint` (when given) followed by `endpoints`, without duplicates;
   * `[unix:///var/run/docker.sock]` when neither is given. Always present after decoding.
   */
  endpoints?: string[];
  /** How often globs are re-scanned for new daemons (ms), from `rescanInterval` (default 5s). */
  rescanIntervalMs?: number;
};

/** `providers`. */
export type ProvidersConfig = Omit<Decoded['providers'], 'docker'> & { docker?: DockerProviderConfig };
/** `providers.file`. */
export type FileProviderConfig = NonNullable<Decoded['providers']['file']>;
/** `providers.http`. */
export type HttpProviderConfig = NonNullable<Decoded['providers']['http']>;
/** `certificatesResolvers.<name>`. */
export type CertResolverConfig = Decoded['certificatesResolvers'][string];
/** `api`: always present (berth's API listens on `api.listen` even without the section). */
export type ApiConfig = Decoded['api'];
/** `log`. */
export type LogConfig = Decoded['log'];
/** `accessLog`: present when enabled. */
export type AccessLogConfig = NonNullable<Decoded['accessLog']>;
/** `metrics.prometheus`. */
export type PrometheusConfig = NonNullable<NonNullable<Decoded['metrics']>['prometheus']>;
/** `serversTransport`. */
export type StaticServersTransport = Decoded['serversTransport'];
/** `edge`. */
export type EdgeConfig = Decoded['edge'];
/** `limits`. */
export type LimitsConfig = Decoded['limits'];
/** `fleet`: present when several berth hosts form one edge. */
export type FleetConfig = NonNullable<Decoded['fleet']>;

/** The decoded static configuration. */
export type StaticConfig = Omit<Decoded, 'entryPoints' | 'providers'> & {
  /** User-written and generated (`edge`) entrypoints by name. */
  entryPoints: Record<string, EntryPointConfig>;
  providers: ProvidersConfig;
};
