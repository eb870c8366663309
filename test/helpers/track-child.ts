import type { ChildProcess } from 'node:child_process';
import { after } from 'node:test';

/**
 * Child processes a test started (berth, redis, pebble, knotd, …) must not outlive the test
 * process, and must not keep it alive: when a test times out, its own cleanup never runs, and a
 * child still holding its pipes open (or a socket the test left open to it) keeps the test file's
 * process waiting forever after the last test. Tracked children are killed when the process exits.
 * Once every test of the file has finished (the root `after` hook) they are unref'd so the process
 * can reach that exit, and if something else still holds it two minutes later (cleanup hooks that
 * stop processes gracefully have long finished by then), the children are killed and the process
 * exits: the runner has already recorded every test's result, a timed-out one as failed.
 */
const live = new Map<ChildProcess, NodeJS.Signals>();
const LAST_RESORT_MS = 120_000;

process.once('exit', () => {
  for (const [child, signal] of live) {
    try {
      child.kill(signal);
    } catch {
      // already gone
    }
  }
});

// Only in a test file's process: a script importing a helper (a bench, even one a test runs) must
// not start node:test.
if (/\.test\.[cm]?[jt]s$/.test(process.argv[1] ?? '')) {
  after(() => {
    for (const child of live.keys()) release(child);
    setTimeout(() => {
      process.stderr.write(
        `test file still busy ${LAST_RESORT_MS / 1000} s after its last test (an abandoned wait or open handle): ` +
          `stopping ${live.size} child process(es) and exiting\n`,
      );
      process.exit();
    }, LAST_RESORT_MS).unref();
  });
}

/** Does not let `child` or its pipes hold the event loop open. */
function release(child: ChildProcess): void {
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) {
    if (stream && 'unref' in stream && typeof stream.unref === 'function') stream.unref();
  }
}

/**
 * Registers `child` to be sent `signal` (default SIGKILL) if it is still running when the test
 * process exits, and to be released from the event loop after the file's last test. Returns it.
 */
export function trackChild<C extends ChildProcess>(child: C, signal: NodeJS.Signals = 'SIGKILL'): C {
  live.set(child, signal);
  child.once('exit', () => live.delete(child));
  return child;
}
