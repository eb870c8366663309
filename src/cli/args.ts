/** Parsed command line: `berth <command> [args] [-c file] [--flag value]`. */
export interface CliArgs {
  readonly command: string;
  readonly positional: readonly string[];
  readonly flags: ReadonlyMap<string, string | true>;
}

const WITH_VALUE = new Set(['c', 'config', 'configFile', 'labels', 'output', 'o', 'api', 'method']);

/** Parses argv (after `node main.ts`); unknown flags are kept for the command to judge. */
export function parseArgs(argv: readonly string[]): CliArgs | { error: string } {
  const positional: string[] = [];
  const flags = new Map<string, string | true>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('-') && a !== '-') {
      const eq = a.indexOf('=');
      const name = a.replace(/^--?/, '').slice(0, eq > 0 ? eq - (a.startsWith('--') ? 2 : 1) : undefined);
      if (eq > 0) { flags.set(name, a.slice(eq + 1)); continue; }
      if (WITH_VALUE.has(name)) {
        const v = argv[i + 1];
        if (v === undefined) return { error: `${a} needs a value` };
        flags.set(name, v);
        i++;
      } else flags.set(name, true);
    } else positional.push(a);
  }
  const command = positional.shift() ?? 'help';
  return { command, positional, flags };
}

/** The config file named by `-c`, `--config` or Traefik's `--configFile`. */
export function configPath(args: CliArgs): string | undefined {
  const v = args.flags.get('c') ?? args.flags.get('config') ?? args.flags.get('configFile');
  return typeof v === 'string' ? v : undefined;
}
