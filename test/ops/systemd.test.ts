import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  claimSockets,
  closeFds,
  parseHandoverFds,
  parseSystemdFds,
  socketFds,
  takeInheritedSockets,
} from '../../src/ops/systemd.ts';

const PID = 4242;

describe('parseSystemdFds', () => {
  const cases: { desc: string; env: Record<string, string>; sockets: Record<string, number>; warnings: RegExp[] }[] = [
    { desc: 'no variables: nothing inherited', env: {}, sockets: {}, warnings: [] },
    {
      desc: 'two named sockets from fd 3',
      env: { LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:websecure' },
      sockets: { web: 3, websecure: 4 },
      warnings: [],
    },
    {
      desc: 'variables meant for another process are ignored silently',
      env: { LISTEN_PID: '1', LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:websecure' },
      sockets: {},
      warnings: [],
    },
    {
      desc: 'LISTEN_FDS without LISTEN_PID',
      env: { LISTEN_FDS: '1', LISTEN_FDNAMES: 'web' },
      sockets: {},
      warnings: [/LISTEN_PID is missing/],
    },
    {
      desc: 'garbage LISTEN_PID',
      env: { LISTEN_PID: 'abc', LISTEN_FDS: '1' },
      sockets: {},
      warnings: [/LISTEN_PID is "abc"/],
    },
    {
      desc: 'garbage LISTEN_FDS',
      env: { LISTEN_PID: String(PID), LISTEN_FDS: 'two' },
      sockets: {},
      warnings: [/expected a number/],
    },
    {
      desc: 'absurd LISTEN_FDS',
      env: { LISTEN_PID: String(PID), LISTEN_FDS: '99999999' },
      sockets: {},
      warnings: [/expected a number/],
    },
    {
      desc: 'fewer names than descriptors: the rest are unnamed',
      env: { LISTEN_PID: String(PID), LISTEN_FDS: '3', LISTEN_FDNAMES: 'web' },
      sockets: { web: 3 },
      warnings: [/fd 4.*without a usable name/, /fd 5.*without a usable name/],
    },
    {
      desc: 'systemd default names (unknown, unit name) cannot match an entrypoint',
      env: { LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'unknown:berth.socket' },
      sockets: {},
      warnings: [/"unknown"/, /"berth.socket"/],
    },
    {
      desc: 'a name given twice keeps the first socket',
      env: { LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:web' },
      sockets: { web: 3 },
      warnings: [/given twice/],
    },
    {
      desc: 'an invalid name is reported',
      env: { LISTEN_PID: String(PID), LISTEN_FDS: '1', LISTEN_FDNAMES: 'we b' },
      sockets: {},
      warnings: [/not a valid entrypoint name/],
    },
    { desc: 'zero descriptors', env: { LISTEN_PID: String(PID), LISTEN_FDS: '0' }, sockets: {}, warnings: [] },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseSystemdFds(c.env, PID);
      assert.deepEqual(Object.fromEntries([...r.sockets].map(([n, s]) => [n, s.fd])), c.sockets);
      assert.equal(r.diagnostics.length, c.warnings.length, r.diagnostics.map((d) => d.message).join('\n'));
      for (const [i, re] of c.warnings.entries())
        assert.match(`${r.diagnostics[i]!.element} ${r.diagnostics[i]!.message}`, re);
      for (const d of r.diagnostics) assert.equal(d.level, 'warning');
    });
  }
});

describe('parseHandoverFds', () => {
  const cases: { desc: string; text: string | undefined; sockets: Record<string, number>; warnings: number }[] = [
    { desc: 'unset', text: undefined, sockets: {}, warnings: 0 },
    {
      desc: 'pairs',
      text: 'web=3,websecure=4,tcp-5432=5',
      sockets: { web: 3, websecure: 4, 'tcp-5432': 5 },
      warnings: 0,
    },
    { desc: 'stdio descriptors are refused', text: 'web=1', sockets: {}, warnings: 1 },
    {
      desc: 'malformed pairs are skipped, the rest kept',
      text: 'web=3,oops,=4,x=y,websecure=5',
      sockets: { web: 3, websecure: 5 },
      warnings: 3,
    },
  ];
  test('a repeated name is a group (one socket per worker of the previous berth)', () => {
    const r = parseHandoverFds('web=3,web=4,websecure=5,web=6,web=4');
    assert.deepEqual(Object.fromEntries([...r.sockets].map(([n, s]) => [n, socketFds(s)])), {
      web: [3, 4, 6],
      websecure: [5],
    });
    assert.equal(r.diagnostics.length, 0);
  });
  for (const c of cases) {
    test(c.desc, () => {
      const r = parseHandoverFds(c.text);
      assert.deepEqual(Object.fromEntries([...r.sockets].map(([n, s]) => [n, s.fd])), c.sockets);
      assert.equal(r.diagnostics.length, c.warnings);
    });
  }
});

describe('takeInheritedSockets', () => {
  test('a hand-over wins over systemd variables, and every variable is removed', () => {
    const env: NodeJS.ProcessEnv = {
      BERTH_LISTEN_FDS: 'web=5',
      LISTEN_PID: String(PID),
      LISTEN_FDS: '1',
      LISTEN_FDNAMES: 'web',
      OTHER: 'x',
    };
    const r = takeInheritedSockets(env, PID);
    assert.equal(r.origin, 'handover');
    assert.deepEqual([...r.sockets], [['web', { fd: 5 }]]);
    assert.deepEqual(env, { OTHER: 'x' });
  });
  test('systemd variables are taken and removed so children do not see them', () => {
    const env: NodeJS.ProcessEnv = { LISTEN_PID: String(PID), LISTEN_FDS: '1', LISTEN_FDNAMES: 'web' };
    const r = takeInheritedSockets(env, PID);
    assert.equal(r.origin, 'systemd');
    assert.deepEqual([...r.sockets], [['web', { fd: 3 }]]);
    assert.deepEqual(env, {});
  });
});

describe('claimSockets', () => {
  const eps = {
    web: { protocol: 'tcp' as const },
    websecure: { protocol: 'tcp' as const },
    dns: { protocol: 'udp' as const },
  };
  test('a socket named for no entrypoint is given up with its name and fd', () => {
    const r = claimSockets(
      parseSystemdFds({ LISTEN_PID: String(PID), LISTEN_FDS: '2', LISTEN_FDNAMES: 'web:wbesecure' }, PID),
      eps,
    );
    assert.deepEqual([...r.claimed], [['web', { fd: 3 }]]);
    assert.deepEqual(r.unclaimedFds, [4]);
    assert.equal(r.diagnostics.length, 1);
    assert.equal(r.diagnostics[0]!.element, 'fd 4');
    assert.match(
      r.diagnostics[0]!.message,
      /"wbesecure" matches no entrypoint \(TCP entrypoints: web, websecure\); it is closed/,
    );
  });
  test('unnamed and repeated descriptors are given up too (reported when parsed)', () => {
    const r = claimSockets(
      parseSystemdFds({ LISTEN_PID: String(PID), LISTEN_FDS: '3', LISTEN_FDNAMES: 'web:unknown:web' }, PID),
      eps,
    );
    assert.deepEqual([...r.claimed.keys()], ['web']);
    assert.deepEqual(r.unclaimedFds, [4, 5]);
    assert.equal(r.diagnostics.length, 0);
  });
  test('a UDP entrypoint never adopts a socket: every descriptor of it is given up', () => {
    const r = claimSockets(parseHandoverFds('dns=7,dns=8,web=9'), eps);
    assert.deepEqual([...r.claimed], [['web', { fd: 9 }]]);
    assert.deepEqual(r.unclaimedFds, [7, 8]);
    assert.match(r.diagnostics[0]!.message, /"dns" names a UDP entrypoint/);
    assert.equal(r.diagnostics[0]!.element, 'fd 7, 8');
  });
});

test('closeFds closes each descriptor and reports those it could not close', async () => {
  const { openSync, fstatSync } = await import('node:fs');
  const fd = openSync('/dev/null', 'r');
  const failed = closeFds([fd, 987654]);
  assert.throws(() => fstatSync(fd), /EBADF/);
  assert.deepEqual(
    failed.map((f) => f.fd),
    [987654],
  );
});
