import { Resolver } from 'node:dns/promises';
import { BerthError, ErrorCodes } from '../lib/errors.ts';

/** How to confirm a TXT record is visible before asking the CA to validate. */
export interface PropagationOptions {
  /** `host:port` DNS servers (`dnsChallenge.resolvers`); empty = the system's. */
  resolvers?: string[];
  /** Wait this long before the first check. */
  delayMs?: number;
  /** Give up after this long. */
  timeoutMs?: number;
  /** Time between checks. */
  intervalMs?: number;
  /** Cancels the wait (berth stopping). */
  signal?: AbortSignal;
}

/**
 * Polls until every resolver answers `fqdn TXT` with `value` (all must agree, as a CA may ask any
 * of them). Throws a DNS_PROVIDER error on timeout.
 */
export async function waitForTxt(fqdn: string, value: string, opts: PropagationOptions = {}): Promise<void> {
  const servers = opts.resolvers?.length ? opts.resolvers : [undefined];
  const resolvers = servers.map((s) => {
    const r = new Resolver({ timeout: 2000, tries: 1 });
    if (s) r.setServers([s]);
    return r;
  });
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const intervalMs = opts.intervalMs ?? 500;
  if (opts.delayMs) await sleep(opts.delayMs, opts.signal);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const seen = await Promise.all(resolvers.map(async (r) => {
      try {
        return (await r.resolveTxt(fqdn)).some((chunks) => chunks.join('') === value);
      } catch {
        return false;
      }
    }));
    if (seen.every(Boolean)) return;
    if (Date.now() > deadline) {
      throw new BerthError(ErrorCodes.DNS_PROVIDER, `TXT ${fqdn} not visible on ${servers.map((s) => s ?? 'system resolver').join(', ')} after ${Math.round(timeoutMs / 1000)} s`);
    }
    await sleep(intervalMs, opts.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
