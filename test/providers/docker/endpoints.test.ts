import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { daemonIdForSocket, expandSocketGlob, parseEndpoints } from '../../../src/providers/docker/endpoints.ts';

describe('parseEndpoints', () => {
  const cases = [
    { desc: 'unix socket', raw: 'unix:///var/run/docker.sock', want: { kind: 'unix', path: '/var/run/docker.sock' } },
    {
      desc: 'glob of rediacc sockets',
      raw: 'unix:///var/run/rediacc/docker-*.sock',
      want: { kind: 'glob', pattern: '/var/run/rediacc/docker-*.sock' },
    },
    { desc: 'bare absolute path', raw: '/run/docker.sock', want: { kind: 'unix', path: '/run/docker.sock' } },
    {
      desc: 'tcp without tls',
      raw: 'tcp://127.0.0.1:2375',
      want: { kind: 'tcp', host: '127.0.0.1', port: 2375, tls: false },
    },
    {
      desc: 'https',
      raw: 'https://docker.internal:2376',
      want: { kind: 'tcp', host: 'docker.internal', port: 2376, tls: true },
    },
    { desc: 'ipv6 tcp', raw: 'tcp://[::1]:2375', want: { kind: 'tcp', host: '::1', port: 2375, tls: false } },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const { specs, problems } = parseEndpoints([c.raw], false);
      assert.deepEqual(problems, []);
      assert.deepEqual(specs, [{ ...c.want, raw: c.raw }]);
    });
  }

  test('tcp:// uses TLS when providers.docker.tls is set', () => {
    assert.deepEqual(parseEndpoints(['tcp://h:2376'], true).specs, [
      { kind: 'tcp', raw: 'tcp://h:2376', host: 'h', port: 2376, tls: true },
    ]);
  });

  const bad = [
    { desc: 'unknown scheme', raw: 'ssh://user@host', match: /unsupported endpoint scheme "ssh"/ },
    { desc: 'tcp without port', raw: 'tcp://host', match: /tcp:\/\/host:port/ },
    { desc: 'port out of range', raw: 'tcp://host:70000', match: /tcp:\/\/host:port/ },
    { desc: 'relative unix path', raw: 'unix://docker.sock', match: /absolute path/ },
    { desc: 'garbage', raw: 'not an endpoint', match: /unsupported/ },
  ];
  for (const c of bad) {
    test(`problem, never a throw: ${c.desc}`, () => {
      const { specs, problems } = parseEndpoints([c.raw, 'unix:///ok.sock'], false);
      assert.equal(specs.length, 1, 'the good endpoint is kept');
      assert.equal(problems.length, 1);
      assert.match(problems[0]!.message, c.match);
    });
  }

  test('duplicates are watched once', () => {
    assert.equal(parseEndpoints(['unix:///a.sock', 'unix:///a.sock'], false).specs.length, 1);
  });
});

describe('daemonIdForSocket', () => {
  const cases = [
    { desc: 'rediacc socket', path: '/var/run/rediacc/docker-2816.sock', want: 'docker-2816' },
    { desc: 'default socket', path: '/var/run/docker.sock', want: 'docker' },
    { desc: 'no .sock suffix', path: '/run/dockerd', want: 'dockerd' },
  ];
  for (const c of cases) test(c.desc, () => assert.equal(daemonIdForSocket(c.path), c.want));
});

describe('expandSocketGlob', () => {
  const dir = mkdtempSync('/tmp/berth-glob-');
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const listen = (p: string): Promise<void> =>
    new Promise((resolve) => {
      const s = createServer();
      servers.push(s);
      s.listen(p, resolve);
    });

  test('matches sockets only, sorted, in any directory level', async () => {
    mkdirSync(join(dir, 'r1'));
    mkdirSync(join(dir, 'r2'));
    await listen(join(dir, 'docker-2.sock'));
    await listen(join(dir, 'docker-10.sock'));
    await listen(join(dir, 'other.sock'));
    writeFileSync(join(dir, 'docker-3.sock'), 'not a socket');
    await listen(join(dir, 'r1', 'docker.sock'));
    await listen(join(dir, 'r2', 'docker.sock'));
    assert.deepEqual(await expandSocketGlob(`${dir}/docker-*.sock`), [
      join(dir, 'docker-10.sock'),
      join(dir, 'docker-2.sock'),
    ]);
    assert.deepEqual(await expandSocketGlob(`${dir}/r?/docker.sock`), [
      join(dir, 'r1', 'docker.sock'),
      join(dir, 'r2', 'docker.sock'),
    ]);
    assert.deepEqual(await expandSocketGlob(`${dir}/docker-[2]*.sock`), [join(dir, 'docker-2.sock')]);
  });

  test('a missing directory matches nothing', async () => {
    assert.deepEqual(await expandSocketGlob(`${dir}/missing/docker-*.sock`), []);
  });
});
