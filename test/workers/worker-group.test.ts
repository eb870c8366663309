import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { assignSockets } from '../../src/workers/worker-group.ts';

describe('assignSockets', () => {
  const cases: { desc: string; fds: number[]; workers: number; want: number[][] }[] = [
    { desc: 'one socket per worker', fds: [10, 11], workers: 2, want: [[10], [11]] },
    { desc: 'one socket (systemd) goes to one worker, never shared', fds: [3], workers: 3, want: [[3], [], []] },
    {
      desc: 'more sockets than workers: each socket keeps an acceptor',
      fds: [3, 4, 5],
      workers: 2,
      want: [[3, 5], [4]],
    },
    { desc: 'fewer sockets than workers: the extra workers serve none', fds: [3, 4], workers: 3, want: [[3], [4], []] },
    { desc: 'no socket: workers bind their own', fds: [], workers: 2, want: [[], []] },
  ];
  for (const c of cases) test(c.desc, () => assert.deepEqual(assignSockets(c.fds, c.workers), c.want));
});
