import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/lib/atomic-file.ts';
import { BerthError, ErrorCodes } from '../../src/lib/errors.ts';
import { tempDir } from '../helpers/temp.ts';
import { withTimeout } from '../helpers/with-timeout.ts';
import { trackChild } from '../helpers/track-child.ts';

const node = process.execPath;
const moduleUrl = new URL('../../src/lib/atomic-file.ts', import.meta.url).href;

describe('writeFileAtomic', () => {
  test('writes the data with mode 0600 and leaves no temp file', async () => {
    const dir = tempDir('berth-atomic-');
    const file = join(dir, 'acme.json');
    await writeFileAtomic(file, '{"a":1}');
    await writeFileAtomic(file, '{"a":2}');
    assert.equal(readFileSync(file, 'utf8'), '{"a":2}');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['acme.json']);
  });

  test('a failed write is a STORAGE error and the old file is untouched', async (t) => {
    if (process.getuid?.() === 0) {
      // root ignores directory permissions: make the target path a directory's child that cannot exist.
      const dir = tempDir('berth-atomic-');
      writeFileSync(join(dir, 'plain'), 'x');
      await assert.rejects(
        writeFileAtomic(join(dir, 'plain', 'acme.json'), 'new'),
        (err: unknown) => err instanceof BerthError && err.code === ErrorCodes.STORAGE,
      );
      assert.equal(readFileSync(join(dir, 'plain'), 'utf8'), 'x');
      return;
    }
    const dir = tempDir('berth-atomic-');
    const file = join(dir, 'acme.json');
    writeFileSync(file, 'old');
    chmodSync(dir, 0o500);
    t.after(() => chmodSync(dir, 0o700));
    await assert.rejects(
      writeFileAtomic(file, 'new'),
      (err: unknown) => err instanceof BerthError && err.code === ErrorCodes.STORAGE,
    );
    assert.equal(readFileSync(file, 'utf8'), 'old');
  });

  test('SIGKILL at random moments while rewriting never leaves a torn file', async () => {
    const dir = tempDir('berth-atomic-kill-');
    const file = join(dir, 'acme.json');
    await writeFileAtomic(file, JSON.stringify({ seq: 0, pad: 'x'.repeat(200_000) }));
    // The child rewrites a large JSON document as fast as it can until killed, saying after each write.
    const script = `
      import { writeFileAtomic } from ${JSON.stringify(moduleUrl)};
      const pad = 'x'.repeat(200_000);
      let seq = 1;
      process.send?.('ready');
      for (;;) { await writeFileAtomic(${JSON.stringify(file)}, JSON.stringify({ seq: seq++, pad })); process.send?.('wrote'); }
    `;
    // A fixed number of rounds (not a time budget: a loaded machine starts children slowly). The
    // first round is killed after a completed write; the others at a random moment after start.
    let rounds = 0;
    let lastSeq = 0;
    for (; rounds < 5; rounds++) {
      const child = trackChild(
        spawn(node, ['--input-type=module', '-e', script], {
          stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
        }),
      );
      const expected = rounds === 0 ? 'wrote' : 'ready';
      await withTimeout(
        new Promise<void>((resolve, reject) => {
          child.on('message', (m) => {
            if (m === expected) resolve();
          });
          child.once('exit', (code) => reject(new Error(`the writer exited (${code}) before saying ${expected}`)));
        }),
        60_000,
        `the writer to say ${expected}`,
      );
      if (rounds > 0) await new Promise((r) => setTimeout(r, 5 + Math.random() * 60));
      child.kill('SIGKILL');
      await withTimeout(
        new Promise((r) => child.once('exit', r)),
        15_000,
        `the writer (pid ${child.pid}) to exit after SIGKILL`,
      );
      const parsed = JSON.parse(readFileSync(file, 'utf8')) as { seq: number; pad: string };
      assert.equal(parsed.pad.length, 200_000);
      lastSeq = Math.max(lastSeq, parsed.seq);
    }
    assert.ok(lastSeq > 0, 'the child never completed a write');
  });
});
