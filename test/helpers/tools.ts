import { execFileSync } from 'node:child_process';
import type { TestContext } from 'node:test';

/** True when integration tools must be present (CI): a missing tool fails instead of skipping. */
export const requireIntegration = process.env.BERTH_REQUIRE_INTEGRATION === '1';

const cache = new Map<string, boolean>();

/** Whether an executable is on PATH. */
export function hasTool(name: string): boolean {
  let found = cache.get(name);
  if (found === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
      found = true;
    } catch {
      found = false;
    }
    cache.set(name, found);
  }
  return found;
}

/**
 * Ensures the named tools exist. Returns true when the test can go on; otherwise skips the test
 * (developer machine) or throws (CI, BERTH_REQUIRE_INTEGRATION=1).
 */
export function needTools(t: TestContext, ...names: string[]): boolean {
  const missing = names.filter((n) => !hasTool(n));
  if (missing.length === 0) return true;
  const msg = `missing tools: ${missing.join(', ')} (apt-get install docker.io pebble busybox-static curl …)`;
  if (requireIntegration) throw new Error(msg);
  t.skip(msg);
  return false;
}
