/**
 * berth's command line: `berth <command> [args] [options]`, parsed with `node:util`'s parseArgs.
 * Arguments that are Traefik static configuration flags (`--entrypoints.web.address=:80`,
 * `--providers.docker`, …) are set aside for the configuration loader, so a Traefik command line
 * (as in a compose file's `command:`) starts berth as it starts Traefik.
 */
import { parseArgs as parseNodeArgs } from 'node:util';
import { isTraefikFlag } from '../config/static/sources.ts';

/** A parsed command line. */
export interface CliArgs {
  readonly command: string;
  readonly positional: readonly string[];
  /** berth's own options, by long name (`c` and `config` are one: `config`). */
  readonly flags: ReadonlyMap<string, string | true>;
  /** Traefik static configuration flags, as given (`--entrypoints.web.address=:80`). */
  readonly traefikFlags: readonly string[];
}

const OPTIONS = {
  config: { type: 'string', short: 'c' },
  configFile: { type: 'string' },
  labels: { type: 'string' },
  output: { type: 'string', short: 'o' },
  api: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

/** The command when none is named: Traefik flags alone mean `run`, as `traefik --…` does. */
function defaultCommand(flags: ReadonlyMap<string, string | true>, traefikFlags: readonly string[]): string {
  if (flags.get('help') === true) return 'help';
  if (flags.get('version') === true) return 'version';
  return traefikFlags.length > 0 || flags.has('configFile') ? 'run' : 'help';
}

/** Parses argv (after `node main.ts`); an unknown option or a missing value is an error. */
export function parseArgs(argv: readonly string[]): CliArgs | { error: string } {
  const own: string[] = [];
  const traefikFlags: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    // `--api URL` (or `--api=http://…`) is berth's option of the remote commands; Traefik's `--api` switches the API on.
    const berthApi =
      (a === '--api' && argv[i + 1] !== undefined && !argv[i + 1]!.startsWith('-')) || /^--api=\w+:\/\//.test(a);
    if (!berthApi && isTraefikFlag(a)) traefikFlags.push(a);
    // Traefik's flags are case-insensitive; `node:util` reads `-c=x` as the value "=x".
    else
      own.push(
        a
          .replace(/^--configfile(?==|$)/i, '--configFile')
          .replace(/^-c=/, '--config=')
          .replace(/^-o=/, '--output='),
      );
  }
  let parsed: ReturnType<
    typeof parseNodeArgs<{ args: string[]; options: typeof OPTIONS; allowPositionals: true; strict: true }>
  >;
  try {
    parsed = parseNodeArgs({ args: own, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (err) {
    return {
      error: (err as Error).message.replace(/^Option '(-\w), (--\w+) <value>' argument missing$/, '$1 needs a value'),
    };
  }
  const flags = new Map<string, string | true>();
  for (const [k, v] of Object.entries(parsed.values)) if (v !== undefined && v !== false) flags.set(k, v);
  const positional = [...parsed.positionals];
  const command = positional.shift() ?? defaultCommand(flags, traefikFlags);
  return { command, positional, flags, traefikFlags };
}

/** The config file named by `-c`, `--config` or Traefik's `--configFile`. */
export function configPath(args: CliArgs): string | undefined {
  const v = args.flags.get('config') ?? args.flags.get('configFile');
  return typeof v === 'string' ? v : undefined;
}
