import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { needTools } from '../helpers/tools.ts';

const execFileP = promisify(execFile);
const DOCKER_DIR = resolve(import.meta.dirname, '../../docker');
const UNITS: [string, string][] = [
  ['berth.service', 'berth.service'],
  ['berth.socket', 'berth.socket'],
  ['berth-websecure.socket', 'berth-websecure.socket'],
  ['berth-l4.socket.example', 'berth-tcp-5432.socket'],
];

test('systemd-analyze verify accepts the units without a single warning', async (t) => {
  if (!needTools(t, 'systemd-analyze')) return;
  const dir = mkdtempSync(join(tmpdir(), 'berth-units-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [from, to] of UNITS) copyFileSync(join(DOCKER_DIR, from), join(dir, to));
  const { stdout, stderr } = await execFileP('systemd-analyze', ['verify', ...UNITS.map(([, to]) => join(dir, to))], {
    cwd: dir,
  });
  // Only a missing Node at /usr/bin/node (a machine without a system-wide Node 24) is tolerated.
  const problems = (stdout + stderr)
    .split('\n')
    .filter((l) => l.trim() !== '' && !/Command \/usr\/bin\/node is not executable/.test(l));
  assert.deepEqual(problems, []);
});

test('the service keeps its promises: unprivileged, port capability, docker group, state dir, stop timeout above the drain grace', () => {
  const unit = readFileSync(join(DOCKER_DIR, 'berth.service'), 'utf8');
  const value = (key: string): string[] =>
    [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((m) => m[1]!.trim());
  const cases: { desc: string; key: string; expect: string }[] = [
    { desc: 'runs as berth', key: 'User', expect: 'berth' },
    { desc: 'binds :80/:443 without root', key: 'AmbientCapabilities', expect: 'CAP_NET_BIND_SERVICE' },
    { desc: 'reads the Docker sockets through the docker group', key: 'SupplementaryGroups', expect: 'docker' },
    { desc: 'state in /var/lib/berth', key: 'StateDirectory', expect: 'berth' },
    { desc: 'many connections', key: 'LimitNOFILE', expect: '1048576' },
    { desc: 'restarts after a crash', key: 'Restart', expect: 'on-failure' },
    { desc: 'SIGHUP on reload', key: 'ExecReload', expect: '/bin/kill -HUP $MAINPID' },
    { desc: 'no privilege escalation', key: 'NoNewPrivileges', expect: 'yes' },
    { desc: 'read-only system', key: 'ProtectSystem', expect: 'strict' },
    { desc: 'receives the named sockets', key: 'Sockets', expect: 'berth.socket berth-websecure.socket' },
  ];
  for (const c of cases)
    assert.ok(
      value(c.key).includes(c.expect),
      `${c.desc}: ${c.key}=${c.expect} (found ${value(c.key).join(', ') || 'nothing'})`,
    );
  const stop = /^(\d+)s$/.exec(value('TimeoutStopSec')[0] ?? '');
  assert.ok(stop && Number(stop[1]) > 10, 'TimeoutStopSec above the default 10 s graceTimeOut');
  const names = ['berth.socket', 'berth-websecure.socket'].map(
    (f) => /^FileDescriptorName=(.*)$/m.exec(readFileSync(join(DOCKER_DIR, f), 'utf8'))?.[1],
  );
  assert.deepEqual(names, ['web', 'websecure']);
});
