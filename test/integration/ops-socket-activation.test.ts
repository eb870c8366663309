import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { freePort, waitUntil } from '../helpers/net.ts';
import { needTools } from '../helpers/tools.ts';
import { startUpstream, type Upstream } from '../helpers/upstreams.ts';
import {
  ExitedBeforeListening,
  get,
  startActivated,
  waitForApi,
  writeOpsConfig,
  type ActivatedBerth,
} from '../ops/fixtures.ts';
import { timeoutSignal } from '../helpers/with-timeout.ts';

describe('berth under systemd-socket-activate', () => {
  const upstreams: Upstream[] = [];
  let activated: ActivatedBerth | undefined;
  let dir = '';
  after(async () => {
    await activated?.stop();
    await Promise.all(upstreams.map((u) => u.close()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ports: Record<string, number> = {};
  before(async () => {
    for (const name of ['web', 'websecure', 'tcp-5432']) {
      ports[name] = await freePort();
      upstreams.push(
        await startUpstream((_req, res) => {
          res.end(`via ${name}`);
        }),
      );
    }
  });

  test('each named socket is served on the entrypoint of its name, and survives a restart of the service', async (t) => {
    if (!needTools(t, 'systemd-socket-activate')) return;
    // Entrypoint addresses deliberately differ from the sockets' ports: berth must adopt the
    // inherited sockets, not bind its own.
    const eps: Record<string, { port: number; upstream: string }> = {};
    let i = 0;
    for (const name of Object.keys(ports)) eps[name] = { port: await freePort(), upstream: upstreams[i++]!.url };
    const cfg = await writeOpsConfig({ entrypoints: eps });
    dir = cfg.dir;
    // A port picked free can be taken by a parallel test before systemd-socket-activate binds it: pick again.
    for (let attempt = 1; ; attempt++) {
      try {
        activated = await startActivated({
          sockets: ports,
          configPath: cfg.configPath,
          dir: cfg.dir,
          apiPort: cfg.apiPort,
        });
        break;
      } catch (err) {
        if (!(err instanceof ExitedBeforeListening) || attempt === 3) throw err;
        t.diagnostic(String(err));
        for (const name of Object.keys(ports)) ports[name] = await freePort();
      }
    }
    for (const [name, port] of Object.entries(ports))
      assert.deepEqual(await get(port), { status: 200, body: `via ${name}` }, `socket ${name} on :${port}`);
    const entrypoints = await (
      await fetch(`http://127.0.0.1:${cfg.apiPort}/api/entrypoints`, {
        signal: timeoutSignal(15_000, 'berth /api/entrypoints'),
      })
    )
      .json()
      .catch(() => undefined);
    t.diagnostic(`entrypoints: ${JSON.stringify(entrypoints)}`);
    assert.ok(
      activated.logs.some((l) => l.includes('adopting 3 inherited listening socket(s) from systemd')),
      activated.logs.join('\n'),
    );

    // systemctl restart: the service stops, the sockets stay open, a new process adopts them.
    const first = activated.current()!;
    process.kill(first, 'SIGTERM');
    const pending = get(ports.web!); // waits in the socket's queue while no process accepts
    // The old process may still answer a ping before it has handled the signal: wait for the new one.
    await waitUntil(
      () => {
        const pid = activated!.current();
        return pid !== undefined && pid !== first;
      },
      'a new berth process',
      30_000,
      50,
    );
    await waitForApi(cfg.apiPort);
    assert.deepEqual(await pending, { status: 200, body: 'via web' });
    for (const [name, port] of Object.entries(ports))
      assert.deepEqual(await get(port), { status: 200, body: `via ${name}` });
  });
});
