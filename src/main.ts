#!/usr/bin/env node
import { useCompileCache } from './compile-cache.ts';
import { parseArgs, configPath } from './cli/args.ts';
import { apiBase, getJson } from './cli/remote.ts';
import { chooseStaticSource } from './config/static/sources.ts';
import { VERSION } from './version.ts';

const USAGE = `berth ${VERSION} — an edge proxy for Docker hosts, Traefik v3 compatible

usage: berth <command> [options]

  run [-c berth.yaml]           start berth
  check [-c berth.yaml]         validate the static configuration (and providers.file's files)
        [--labels compose.yaml] [--output json|yaml]
                                lint a compose file's labels and show the routes they make
  routes [--api URL]            list the routers of a running berth
  certs [--api URL]             list certificates and their state
  explain URL [--api URL]       why URL gets its router (or a 404/502/504)
  version, -v, --version        print the version
  help, -h, --help              print this help

The static configuration comes from one source, as in Traefik: the file named by -c (--config,
--configFile; YAML, TOML or JSON), else traefik.yml/.yaml/.toml in /etc/traefik, $XDG_CONFIG_HOME,
~/.config or the working directory, else Traefik's flags (berth --entrypoints.web.address=:80 …),
else TRAEFIK_* environment variables, else berth's embedded default (loopback only).
`;

async function main(argv: readonly string[]): Promise<number> {
  const args = parseArgs(argv);
  if ('error' in args) {
    process.stderr.write(`berth: ${args.error}\n\n${USAGE}`);
    return 2;
  }
  const configFile = configPath(args);
  const chosen = () =>
    chooseStaticSource({
      ...(configFile !== undefined ? { configFile } : {}),
      traefikFlags: args.traefikFlags,
      env: process.env,
      cwd: process.cwd(),
    });
  const api = typeof args.flags.get('api') === 'string' ? (args.flags.get('api') as string) : undefined;
  const help = args.flags.get('help') === true;
  const command = help ? 'help' : args.flags.get('version') === true ? 'version' : args.command;
  switch (command) {
    // Loaded on demand: the proxy's module graph is large, and check/version/routes do not need it.
    case 'run': {
      const { source, diagnostics } = chosen();
      return (await import('./cli/run.ts')).runCommand(source, diagnostics);
    }
    case 'check': {
      const { source, diagnostics } = chosen();
      const labels = args.flags.get('labels');
      if (typeof labels === 'string') {
        const { checkLabelsCommand } = await import('./cli/check-labels.ts');
        const out = args.flags.get('output');
        return checkLabelsCommand(labels, source, typeof out === 'string' ? out : undefined);
      }
      return (await import('./cli/check.ts')).checkCommand(source, diagnostics);
    }
    case 'routes': {
      const r = (await getJson(await apiBase(api, chosen().source), '/routes.json')) as {
        http: { name: string; rule: string; service: string; status: string; errors: string[] }[];
        tcp: { name: string; rule: string; service: string; status: string }[];
        udp: { name: string; service: string; status: string }[];
      };
      for (const x of r.http)
        process.stdout.write(
          `http  ${x.status.padEnd(8)} ${x.name}  ${x.rule}  → ${x.service}${x.errors.length ? `  (${x.errors.join('; ')})` : ''}\n`,
        );
      for (const x of r.tcp) process.stdout.write(`tcp   ${x.status.padEnd(8)} ${x.name}  ${x.rule}  → ${x.service}\n`);
      for (const x of r.udp) process.stdout.write(`udp   ${x.status.padEnd(8)} ${x.name}  → ${x.service}\n`);
      return 0;
    }
    case 'certs': {
      process.stdout.write(
        JSON.stringify(await getJson(await apiBase(api, chosen().source), '/certs'), null, 2) + '\n',
      );
      return 0;
    }
    case 'explain': {
      const url = args.positional[0];
      if (!url) {
        process.stderr.write('berth explain: give a URL, e.g. berth explain https://app.example.com/path\n');
        return 2;
      }
      process.stdout.write(
        JSON.stringify(
          await getJson(await apiBase(api, chosen().source), `/explain?url=${encodeURIComponent(url)}`),
          null,
          2,
        ) + '\n',
      );
      return 0;
    }
    case 'version':
      process.stdout.write(`berth ${VERSION} (node ${process.version})\n`);
      return 0;
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    default:
      process.stderr.write(`berth: unknown command "${args.command}"\n\n${USAGE}`);
      return 2;
  }
}

// Before the command's modules load (they are imported on demand below).
useCompileCache();
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
    if (code !== 0 || process.argv[2] !== 'run') setImmediate(() => process.exit(code));
    else process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`berth: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
