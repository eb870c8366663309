import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { requireIntegration } from './tools.ts';

/**
 * Runs `fn` in a new 64 KiB tmpfs — a real filesystem that fills up, no LD_PRELOAD tricks — and
 * unmounts it afterwards. Needs root and mount(2): skips without them, or fails when integration
 * tests are required.
 */
export async function onSmallTmpfs(t: TestContext, prefix: string, fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
  } catch {
    rmSync(dir, { recursive: true, force: true });
    if (requireIntegration) throw new Error('cannot mount a tmpfs to simulate a full disk');
    t.skip('cannot mount a tmpfs (not root?)');
    return;
  }
  try {
    await fn(dir);
  } finally {
    execFileSync('umount', [dir], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Fills the rest of a small filesystem with a file named `filler`; removing it makes room again. */
export function fillUp(dir: string): void {
  try {
    writeFileSync(join(dir, 'filler'), Buffer.alloc(64 * 1024, 1));
  } catch {
    /* ENOSPC: full */
  }
}
