import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { configPath, parseArgs } from '../../src/cli/args.ts';
import { apiBase } from '../../src/cli/remote.ts';

describe('parseArgs', () => {
  const cases: { desc: string; argv: string[]; command?: string; positional?: string[]; flags?: Record<string, string | true>; config?: string; error?: RegExp }[] = [
    { desc: 'no arguments is help', argv: [], command: 'help', positional: [], flags: {} },
    { desc: 'run with -c', argv: ['run', '-c', 'berth.yaml'], command: 'run', config: 'berth.yaml' },
    { desc: '--config before the command', argv: ['--config', 'b.yaml', 'check'], command: 'check', config: 'b.yaml' },
    { desc: 'Traefik\'s --configFile=', argv: ['--configFile=/etc/traefik/traefik.yml'], command: 'help', config: '/etc/traefik/traefik.yml' },
    { desc: '-c=value', argv: ['check', '-c=x.yaml'], command: 'check', config: 'x.yaml' },
    { desc: 'explain takes the URL as positional, --api as flag', argv: ['explain', 'https://a.example.com/x', '--api', 'http://127.0.0.1:9'], command: 'explain', positional: ['https://a.example.com/x'], flags: { api: 'http://127.0.0.1:9' } },
    { desc: 'check --labels with -o', argv: ['check', '--labels', 'compose.yaml', '-o', 'json'], command: 'check', flags: { labels: 'compose.yaml', o: 'json' } },
    { desc: 'unknown boolean flags are kept for the command', argv: ['routes', '--verbose'], command: 'routes', flags: { verbose: true } },
    { desc: 'a lone "-" is positional', argv: ['check', '-'], command: 'check', positional: ['-'] },
    { desc: '-c without its value is an error', argv: ['run', '-c'], error: /-c needs a value/ },
    { desc: '--labels without its value is an error', argv: ['check', '--labels'], error: /--labels needs a value/ },
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
