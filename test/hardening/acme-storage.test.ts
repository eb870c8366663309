import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '../../src/lib/atomic-file.ts';
import { BerthError, ErrorCodes } from '../../src/lib/errors.ts';
import { requireIntegration } from '../helpers/tools.ts';

describe('hardening: acme.json on a full disk', () => {
  test('disk full while writing acme.json: STORAGE error, the old file stays valid, no temp file left', async (t) => {
    // A real full filesystem: a 64 KiB tmpfs (needs root and mount(2)); no LD_PRELOAD tricks.
    const dir = mkdtempSync(join(tmpdir(), 'berth-diskfull-'));
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    } catch {
      rmSync(dir, { recursive: true, force: true });
      if (requireIntegration) throw new Error('cannot mount a tmpfs to simulate a full disk');
      t.skip('cannot mount a tmpfs (not root?)');
      return;
    }
    try {
      const file = join(dir, 'acme.json');
      const old = JSON.stringify({ le: { Account: { Email: 'a@example.test' }, Certificates: [] } });
      await writeFileAtomic(file, old);
      // Fill the rest of the filesystem.
      try { writeFileSync(join(dir, 'filler'), Buffer.alloc(64 * 1024, 1)); } catch { /* ENOSPC: full */ }
      const big = JSON.stringify({ le: { Certificates: [{ certificate: 'x'.repeat(40 * 1024) }] } });
      await assert.rejects(writeFileAtomic(file, big), (err: unknown) => err instanceof BerthError && err.code === ErrorCodes.STORAGE);
      assert.equal(readFileSync(file, 'utf8'), old, 'the old acme.json is intact');
      JSON.parse(readFileSync(file, 'utf8'));
      assert.deepEqual(readdirSync(dir).filter((n) => n.endsWith('.tmp')), [], 'no temp file left behind');
      rmSync(join(dir, 'filler'), { force: true });
      await writeFileAtomic(file, big);
      assert.equal(readFileSync(file, 'utf8'), big, 'writes succeed again once there is space');
    } finally {
      execFileSync('umount', [dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
