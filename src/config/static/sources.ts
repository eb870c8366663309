/**
 * Where the static configuration comes from, as in Traefik: a configuration file, or Traefik's CLI
 * flags, or `TRAEFIK_*` environment variables — one of them, never a mix. Traefik evaluates them in
 * that order and uses the first it finds: a file named by `--configFile` (berth: `-c`), else
 * `traefik.yml`/`.yaml`/`.toml` in /etc/traefik, $XDG_CONFIG_HOME, $HOME/.config or the working
 * directory; else the flags; else the variables. berth adds a last one: its embedded default.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { setFlat, type FlatOptions } from '../schema/flat.ts';
import { entriesOf } from '../schema/introspect.ts';
import { STATIC_WARNINGS } from '../warned.ts';
import { staticConfigSchema } from './schema.ts';

/** The one source the static configuration is read from. */
export type StaticSource =
  | { readonly kind: 'file'; readonly path: string; readonly found: 'named' | 'default location' }
  | { readonly kind: 'flags'; readonly flags: readonly string[] }
  | { readonly kind: 'env'; readonly vars: readonly (readonly [string, string])[] }
  | { readonly kind: 'embedded' };

/** What the process was started with. */
export interface StartContext {
  /** `-c`, `--config` or `--configFile`. */
  readonly configFile?: string;
  readonly traefikFlags: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
}

const ROOTS = new Set(Object.keys(entriesOf(staticConfigSchema)).map((k) => k.toLowerCase()));

/** True for `--<static root key>…`: a Traefik configuration flag, not one of berth's options. */
export function isTraefikFlag(arg: string): boolean {
  const m = /^--([A-Za-z0-9]+)(?:[.=[]|$)/.exec(arg);
  return m !== null && ROOTS.has(m[1]!.toLowerCase());
}

/** `TRAEFIK_*` variables, in name order (the prefix is case-insensitive, as Traefik's). */
export function traefikVariables(env: Readonly<Record<string, string | undefined>>): [string, string][] {
  return Object.entries(env)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && /^TRAEFIK_./i.test(e[0]))
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Traefik's default locations of `traefik.{yml,yaml,toml}`, in its search order. */
export function defaultConfigFiles(env: Readonly<Record<string, string | undefined>>, cwd: string): string[] {
  const dirs = ['/etc/traefik', env['XDG_CONFIG_HOME'], env['HOME'] ? join(env['HOME'], '.config') : undefined, cwd];
  return dirs
    .filter((d): d is string => d !== undefined && d !== '')
    .flatMap((d) => ['yml', 'yaml', 'toml'].map((ext) => join(d, `traefik.${ext}`)));
}

/**
 * Chooses the source as Traefik does, with a warning for each other source that was given and is
 * therefore not read (Traefik silently ignores them).
 */
export function chooseStaticSource(
  start: StartContext,
  exists: (path: string) => boolean = existsSync,
): { source: StaticSource; diagnostics: Diagnostic[] } {
  const vars = traefikVariables(start.env);
  let source: StaticSource;
  const found =
    start.configFile === undefined ? defaultConfigFiles(start.env, start.cwd).find((p) => exists(p)) : undefined;
  if (start.configFile !== undefined) source = { kind: 'file', path: start.configFile, found: 'named' };
  else if (found !== undefined) source = { kind: 'file', path: found, found: 'default location' };
  else if (start.traefikFlags.length > 0) source = { kind: 'flags', flags: start.traefikFlags };
  else if (vars.length > 0) source = { kind: 'env', vars };
  else source = { kind: 'embedded' };
  const used = describeSource(source);
  const diagnostics: Diagnostic[] = [];
  if (source.kind === 'file' && start.traefikFlags.length > 0) {
    diagnostics.push(
      diagWarning(
        'command line',
        undefined,
        `${start.traefikFlags.length} configuration flag(s) ignored (${start.traefikFlags[0]}, …): the static configuration is read from ${used} only, as Traefik reads one source`,
      ),
    );
  }
  if ((source.kind === 'file' || source.kind === 'flags') && vars.length > 0) {
    diagnostics.push(
      diagWarning(
        'environment',
        undefined,
        `${vars.length} TRAEFIK_* variable(s) ignored (${vars[0]![0]}, …): the static configuration is read from ${used} only, as Traefik reads one source`,
      ),
    );
  }
  return { source, diagnostics };
}

/** How diagnostics and logs name a source. */
export function describeSource(source: StaticSource): string {
  switch (source.kind) {
    case 'file':
      return `file ${source.path}`;
    case 'flags':
      return 'command line';
    case 'env':
      return 'environment (TRAEFIK_* variables)';
    case 'embedded':
      return 'embedded default config';
  }
}

const FLAGS: FlatOptions = { anyObjectAlone: true, warnings: STATIC_WARNINGS };
const ENV: FlatOptions = { anyObjectAlone: true, numericIndex: true, warnings: STATIC_WARNINGS };

/**
 * Traefik's CLI flags → a static configuration document (values as text; the decoder converts
 * them). `--key=value`; a flag without a value is `true` (`--api.insecure`, `--providers.docker`).
 */
export function documentFromFlags(flags: readonly string[]): {
  value: Record<string, unknown>;
  diagnostics: Diagnostic[];
} {
  const value: Record<string, unknown> = {};
  const diagnostics: Diagnostic[] = [];
  for (const flag of flags) {
    const body = flag.replace(/^--/, '');
    const eq = body.indexOf('=');
    const key = eq < 0 ? body : body.slice(0, eq);
    report(
      diagnostics,
      'command line',
      `--${key}`,
      setFlat(value, staticConfigSchema, key.split('.'), eq < 0 ? 'true' : body.slice(eq + 1), '', FLAGS),
    );
  }
  return { value, diagnostics };
}

/**
 * `TRAEFIK_*` variables → a static configuration document: `TRAEFIK_ENTRYPOINTS_WEB_ADDRESS=:80`
 * is `entryPoints.web.address`; a number after a list is an index (`…_DOMAINS_0_MAIN`). Names are
 * lower case, as Traefik reads them; a name cannot hold `_`.
 */
export function documentFromEnv(vars: readonly (readonly [string, string])[]): {
  value: Record<string, unknown>;
  diagnostics: Diagnostic[];
} {
  const value: Record<string, unknown> = {};
  const diagnostics: Diagnostic[] = [];
  for (const [name, text] of vars) {
    const segs = name.slice('TRAEFIK_'.length).toLowerCase().split('_');
    report(diagnostics, 'environment', name, setFlat(value, staticConfigSchema, segs, text, '', ENV));
  }
  return { value, diagnostics };
}

function report(diagnostics: Diagnostic[], source: string, element: string, r: ReturnType<typeof setFlat>): void {
  if (r === undefined) return;
  diagnostics.push('error' in r ? diagError(source, element, r.error) : diagWarning(source, element, r.warning));
}
