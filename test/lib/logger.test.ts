import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { wantsReadableLogs } from '../../src/lib/logger.ts';
import { startBerth } from '../helpers/berth.ts';
import { freePort, waitUntil } from '../helpers/net.ts';
import { tempDir } from '../helpers/temp.ts';
import { needTools } from '../helpers/tools.ts';
import { timeoutSignal, withTimeout } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** A config on loopback ports only, logging at info so start-up lines appear. */
async function loopbackConfig(dir: string): Promise<Record<string, unknown>> {
  return {
    api: { listen: `127.0.0.1:${await freePort()}` },
    entryPoints: { web: { address: `127.0.0.1:${await freePort()}` } },
    edge: { stateDir: join(dir, 'state') },
    workers: 1,
    providers: {},
    log: { level: 'info' },
  };
}

/** Whether a line is one JSON object (what log collectors expect). */
function isJson(line: string): boolean {
  try {
    return typeof JSON.parse(line) === 'object';
  } catch {
    return false;
  }
}

describe('log format: human-readable on a terminal, JSON otherwise', () => {
  const cases: { desc: string; out: { isTTY?: boolean }; readable: boolean }[] = [
    { desc: 'a terminal', out: { isTTY: true }, readable: true },
    { desc: 'a pipe or a file (isTTY false)', out: { isTTY: false }, readable: false },
    { desc: "systemd's journal socket (no isTTY at all)", out: {}, readable: false },
  ];
  for (const c of cases) {
    test(c.desc, () => assert.equal(wantsReadableLogs(c.out), c.readable));
  }

  test('berth started under a pseudo-terminal prints readable lines', async (t) => {
    if (!needTools(t, 'script')) return;
    const dir = tempDir('berth-log-tty-');
    const config = await loopbackConfig(dir);
    const configPath = join(dir, 'berth.yaml');
    writeFileSync(configPath, stringify(config));
    // script(1) gives the command a pseudo-terminal as stdout and copies what it prints to ours.
    const command = `'${process.execPath}' '${join(ROOT, 'src/main.ts')}' run -c '${configPath}'`;
    const child = trackChild(
      spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] }),
    );
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
    });
    const exited = once(child, 'exit');
    try {
      await waitUntil(() => /api listening on/.test(out), 'the api line on the terminal', 20_000);
      const line = out.split(/\r?\n/).find((l) => l.includes('api listening on'))!;
      assert.ok(!isJson(line), line);
      assert.match(line, /INFO/);
      assert.doesNotMatch(out, /"level":30/);
    } finally {
      child.kill('SIGTERM');
      await withTimeout(exited, 30_000, `script(1) running berth (pid ${child.pid}) to exit after SIGTERM`);
    }
    const api = (config['api'] as { listen: string }).listen;
    await waitUntil(async () => {
      const signal = timeoutSignal(5000, `berth /ping on ${api}`);
      try {
        await fetch(`http://${api}/ping`, { signal });
        return false;
      } catch {
        // A connection that is refused, not one left unanswered, means gone.
        return !signal.aborted;
      }
    }, 'berth to be gone with its terminal');
  });

  test('berth with a piped stdout prints JSON lines', async () => {
    const dir = tempDir('berth-log-pipe-');
    const berth = await startBerth({ config: await loopbackConfig(dir), dir });
    try {
      await waitUntil(() => berth.logs.some((l) => l.includes('api listening on')), 'the api line');
      const line = berth.logs.find((l) => l.includes('api listening on'))!;
      assert.ok(isJson(line), line);
      assert.equal((JSON.parse(line) as { level: number }).level, 30);
    } finally {
      await berth.stop();
    }
  });
});
