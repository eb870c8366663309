import { execFileSync } from 'node:child_process';

const cache = new Map<string, boolean>();

/** Whether an executable is on PATH (or in /usr/sbin, where Debian puts nginx and haproxy). */
export function hasCommand(name: string): boolean {
  let found = cache.get(name);
  if (found === undefined) {
    try {
      execFileSync('sh', ['-c', `command -v ${name} || test -x /usr/sbin/${name}`], { stdio: 'ignore' });
      found = true;
    } catch {
      found = false;
    }
    cache.set(name, found);
  }
  return found;
}

/** First line of a tool's version output (stdout or stderr), or undefined when it is missing. */
export function toolVersion(command: string): string | undefined {
  try {
    const out = execFileSync('sh', ['-c', `${command} 2>&1`], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return out.split('\n')[0]?.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Installs missing peers with apt-get (Debian packages nginx-light, haproxy, caddy, wrk). Only
 * when `install` is set and we are root; otherwise the missing peers are simply left out.
 */
export function installMissing(names: readonly string[], install: boolean, log: (s: string) => void): void {
  const pkgs: Record<string, string> = {
    nginx: 'nginx-light',
    haproxy: 'haproxy',
    caddy: 'caddy',
    wrk: 'wrk',
    openssl: 'openssl',
  };
  const missing = names.filter((n) => !hasCommand(n));
  if (missing.length === 0) return;
  if (!install || process.getuid?.() !== 0) {
    log(`missing: ${missing.join(', ')} — left out (apt-get install ${missing.map((m) => pkgs[m] ?? m).join(' ')})`);
    return;
  }
  log(`installing ${missing.join(', ')} with apt-get`);
  try {
    execFileSync('apt-get', ['install', '-y', '--no-install-recommends', ...missing.map((m) => pkgs[m] ?? m)], {
      stdio: 'ignore',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
  } catch (err) {
    log(`apt-get install failed: ${(err as Error).message}`);
  }
  for (const m of missing) cache.delete(m);
}
