/** Finding berth's own container (its ids in /proc, then among a daemon's containers) and its networks. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerView } from '../../../src/config/labels/types.ts';
import {
  detectOwnContainerIds,
  idsFromCgroup,
  idsFromMountinfo,
  isOwnContainer,
  ownNetworksByDaemon,
} from '../../../src/providers/docker/own-container.ts';
import { tempDir } from '../../helpers/temp.ts';

const ID = 'a'.repeat(12) + '0123456789abcdef'.repeat(3) + '0123';

describe('own container ids', () => {
  const cgroups = [
    { desc: 'cgroup v1 under /docker', text: `12:memory:/docker/${ID}\n11:cpu:/docker/${ID}\n`, want: [ID, ID] },
    { desc: 'systemd driver scope', text: `0::/system.slice/docker-${ID}.scope\n`, want: [ID] },
    { desc: 'host process (cgroup v2 root)', text: '0::/\n', want: [] },
    {
      desc: 'host process (cgroup v1 user slice)',
      text: '1:name=systemd:/user.slice/user-0.slice/session-1.scope\n',
      want: [],
    },
    { desc: 'garbage', text: 'not a cgroup file', want: [] },
  ];
  for (const c of cgroups) test(`cgroup: ${c.desc}`, () => assert.deepEqual(idsFromCgroup(c.text), c.want));

  const mounts = [
    {
      desc: 'the hostname bind mount names the container (cgroup v2 hides it)',
      text: `612 600 8:1 /var/lib/docker/containers/${ID}/hostname /etc/hostname rw - ext4 /dev/sda1 rw\n`,
      want: [ID],
    },
    { desc: 'a host mount table', text: '22 1 8:1 / / rw - ext4 /dev/sda1 rw\n', want: [] },
  ];
  for (const c of mounts) test(`mountinfo: ${c.desc}`, () => assert.deepEqual(idsFromMountinfo(c.text), c.want));

  test('detection reads /proc/self under a root and deduplicates', async () => {
    const root = tempDir('own-');
    mkdirSync(join(root, 'proc/self'), { recursive: true });
    writeFileSync(join(root, 'proc/self/cgroup'), `12:memory:/docker/${ID}\n`);
    writeFileSync(
      join(root, 'proc/self/mountinfo'),
      `1 0 8:1 /var/lib/docker/containers/${ID}/hosts /etc/hosts rw - ext4 /dev/sda1 rw\n`,
    );
    assert.deepEqual(await detectOwnContainerIds(`${root}/`), [ID]);
    assert.deepEqual(await detectOwnContainerIds(`${tempDir('own-')}/`), [], 'outside a container: nothing');
  });
});

describe('own networks', () => {
  const v = (id: string, daemon: string, networks: Record<string, string>): ContainerView => ({
    id,
    name: id,
    daemon,
    labels: {},
    env: [],
    running: true,
    health: 'none',
    networks,
    networkMode: 'bridge',
    ports: [],
  });
  const cases = [
    { desc: 'full id', ids: [ID], want: { d1: ['back', 'front'] } },
    { desc: 'short id (the default hostname)', ids: [ID.slice(0, 12)], want: { d1: ['back', 'front'] } },
    { desc: 'too short a prefix is not trusted', ids: [ID.slice(0, 6)], want: {} },
    { desc: 'no ids: outside Docker', ids: [], want: {} },
  ];
  for (const c of cases) {
    test(c.desc, () => {
      const containers = [
        v('f'.repeat(64), 'd1', { x: '10.0.0.9' }),
        v(ID, 'd1', { front: '10.1.0.2', back: '10.2.0.2', host: '' }),
        v('e'.repeat(64), 'd2', { front: '10.1.0.3' }),
      ];
      assert.deepEqual(ownNetworksByDaemon(containers, c.ids), c.want);
    });
  }

  test('a different full id never matches by prefix', () => {
    assert.equal(isOwnContainer(v(ID, 'd', {}), [`${ID.slice(0, 63)}f`]), false);
  });
});
