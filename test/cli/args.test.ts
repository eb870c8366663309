import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configPath, parseArgs } from '../../src/cli/args.ts';
import { apiBase } from '../../src/cli/remote.ts';

describe('parseArgs', () => {
  const cases: {
    desc: string;
    argv: string[];
    command?: string;
    positional?: string[];
    flags?: Record<string, string | true>;
    config?: string;
    traefik?: string[];
    error?: RegExp;
  }[] = [
    { desc: 'no arguments is help', argv: [], command: 'help', positional: [], flags: {} },
    { desc: 'run with -c', argv: ['run', '-c', 'berth.yaml'], command: 'run', config: 'berth.yaml' },
    { desc: '--config before the command', argv: ['--config', 'b.yaml', 'check'], command: 'check', config: 'b.yaml' },
    {
      desc: "Traefik's --configFile= alone runs, as `traefik --configFile=…` does",
      argv: ['--configFile=/etc/traefik/traefik.yml'],
      command: 'run',
      config: '/etc/traefik/traefik.yml',
    },
    { desc: '--configfile in any case', argv: ['check', '--configfile', 't.toml'], command: 'check', config: 't.toml' },
    {
      desc: 'Traefik flags alone run berth with them',
      argv: ['--providers.docker', '--entrypoints.web.address=:80'],
      command: 'run',
      traefik: ['--providers.docker', '--entrypoints.web.address=:80'],
    },
    {
      desc: 'Traefik flags after a command',
      argv: ['check', '--api.insecure=true', '--log.level=DEBUG'],
      command: 'check',
      traefik: ['--api.insecure=true', '--log.level=DEBUG'],
    },
    {
      desc: "--api alone is Traefik's (switches the API on)",
      argv: ['--api', '--entrypoints.web.address=:80'],
      command: 'run',
      traefik: ['--api', '--entrypoints.web.address=:80'],
    },
    { desc: '-v and --version', argv: ['--version'], command: 'version' },
    { desc: '-h', argv: ['-h'], command: 'help' },
    { desc: '-c=value', argv: ['check', '-c=x.yaml'], command: 'check', config: 'x.yaml' },
    {
      desc: 'explain takes the URL as positional, --api as flag',
      argv: ['explain', 'https://a.example.com/x', '--api', 'http://127.0.0.1:9'],
      command: 'explain',
      positional: ['https://a.example.com/x'],
      flags: { api: 'http://127.0.0.1:9' },
    },
    {
      desc: 'check --labels with -o',
      argv: ['check', '--labels', 'compose.yaml', '-o', 'json'],
      command: 'check',
      flags: { labels: 'compose.yaml', output: 'json' },
    },
    { desc: 'an unknown option is an error', argv: ['routes', '--verbose'], error: /Unknown option '--verbose'/ },
    { desc: 'a lone "-" is positional', argv: ['check', '-'], command: 'check', positional: ['-'] },
    { desc: '-c without its value is an error', argv: ['run', '-c'], error: /-c needs a value/ },
    {
      desc: '--labels without its value is an error',
      argv: ['check', '--labels'],
      error: /'--labels <value>' argument missing/,
    },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseArgs(c.argv);
      if (c.error) {
        assert.ok('error' in r);
        assert.match(r.error, c.error);
        return;
      }
      assert.ok(!('error' in r), JSON.stringify(r));
      if (c.command !== undefined) assert.equal(r.command, c.command);
      if (c.positional) assert.deepEqual(r.positional, c.positional);
      if (c.flags) for (const [k, v] of Object.entries(c.flags)) assert.equal(r.flags.get(k), v, k);
      if (c.config !== undefined) assert.equal(configPath(r), c.config);
      if (c.traefik) assert.deepEqual(r.traefikFlags, c.traefik);
    });
  }
});

describe('apiBase: where the CLI finds a running berth', () => {
  const cases: { desc: string; flag?: string; expected: string }[] = [
    { desc: '--api wins, trailing slash dropped', flag: 'http://127.0.0.1:9999/', expected: 'http://127.0.0.1:9999' },
    { desc: 'embedded default api.listen', expected: 'http://127.0.0.1:7111' },
  ];
  for (const c of cases) {
    test(c.desc, async () => {
      assert.equal(await apiBase(c.flag, undefined), c.expected);
    });
  }
});
