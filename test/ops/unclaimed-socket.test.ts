/**
 * An inherited listening socket that no entrypoint adopts is named in the log and closed at start,
 * instead of being held open (and queueing connections) without a word.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readlinkSync, rmSync } from 'node:fs';
import { freePort } from '../helpers/net.ts';
import { needTools } from '../helpers/tools.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import { ExitedBeforeListening, get, startActivated, writeOpsConfig, type ActivatedBerth } from './fixtures.ts';

/** What a process's descriptors point at (`socket:[inode]`, paths…), by fd. */
function descriptors(pid: number): Map<number, string> {
  const out = new Map<number, string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(Number(fd), readlinkSync(`/proc/${pid}/fd/${fd}`));
    } catch {
      /* closed meanwhile */
    }
  }
  return out;
}

describe('inherited sockets that match no entrypoint', () => {
  let activated: ActivatedBerth | undefined;
  let upstream: Upstream | undefined;
  let dir = '';
  after(async () => {
    await activated?.stop();
    await upstream?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('are logged with their name and fd, and closed; the matching one is served', async (t) => {
    if (!needTools(t, 'systemd-socket-activate')) return;
    upstream = await startUpstream((_req, res) => {
      res.end('via web');
    });
    const cfg = await writeOpsConfig({ entrypoints: { web: { port: await freePort(), upstream: upstream.url } } });
    dir = cfg.dir;
    // fd 3 is "web" (served), fd 4 "wbesecure" (a typo), fd 5 "websecure-old" (a removed entrypoint).
    const sockets: Record<string, number> = {};
    for (let attempt = 1; ; attempt++) {
      for (const name of ['web', 'wbesecure', 'websecure-old']) sockets[name] = await freePort();
      try {
        activated = await startActivated({ sockets, configPath: cfg.configPath, dir: cfg.dir, apiPort: cfg.apiPort });
        break;
      } catch (err) {
        // A port picked free can be taken before systemd-socket-activate binds it: pick again.
        if (!(err instanceof ExitedBeforeListening) || attempt === 3) throw err;
      }
    }
    assert.deepEqual(await get(sockets.web!), { status: 200, body: 'via web' });

    const logs = activated.logs.join('\n');
    assert.match(
      logs,
      /fd 4.*inherited socket \\"wbesecure\\" matches no entrypoint \(TCP entrypoints: web\); it is closed/,
    );
    assert.match(logs, /fd 5.*inherited socket \\"websecure-old\\" matches no entrypoint/);

    // The sockets stay open in the holder (as systemd keeps them); berth no longer has them.
    const holder = descriptors(activated.holder.pid!);
    const berth = descriptors(activated.current()!);
    const held = new Set(berth.values());
    assert.ok(held.has(holder.get(3)!), `berth still serves fd 3 (${holder.get(3)})`);
    for (const fd of [4, 5]) {
      const socket = holder.get(fd)!;
      assert.match(socket, /^socket:\[\d+\]$/);
      assert.ok(!held.has(socket), `berth closed fd ${fd} (${socket})`);
    }
  });
});
