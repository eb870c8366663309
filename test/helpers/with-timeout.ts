import type { IncomingMessage } from 'node:http';
// Every test file bounding its waits also gets the guard that keeps an abandoned test from holding it open.
import './track-child.ts';

/**
 * Safety nets for awaits that could otherwise stay pending forever (a reply that never comes, a
 * connection closed without a word, a process that never prints): each rejects after a generous
 * deadline with a message naming what it waited for, so a broken run fails one test instead of
 * holding the whole suite. They are never timing assertions: pick deadlines far above any normal
 * duration on a loaded machine.
 */

/** `promise`, or a rejection `timed out after N s waiting for <what>` if it has not settled by then. */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms / 1000} s waiting for ${what}`)), ms);
  });
  return Promise.race([promise, expired]).finally(() => clearTimeout(timer));
}

/** An AbortSignal for `fetch` / undici that aborts after `ms` with a reason naming `what`. */
export function timeoutSignal(ms: number, what: string): AbortSignal {
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error(`no answer from ${what} within ${ms / 1000} s`)), ms).unref();
  return controller.signal;
}

/** Anything with an idle timeout and `destroy(err)`: sockets, TLS sockets, HTTP client requests. */
interface Destroyable {
  setTimeout(ms: number, callback: () => void): unknown;
  destroy(err?: Error): unknown;
  listenerCount(event: string): number;
}

/**
 * Destroys `stream` with an error naming `what` once it has been idle for `ms` (nothing sent or
 * received), so a promise settled by its 'error' / 'close' rejects instead of waiting on a peer
 * that accepted and went silent. Returns `stream` for chaining.
 */
export function idleTimeout<S extends Destroyable>(stream: S, ms: number, what: string): S {
  // Without an 'error' listener (a caller done with the stream) an error would be uncaught: close only.
  stream.setTimeout(ms, () =>
    stream.listenerCount('error') > 0
      ? stream.destroy(new Error(`${what}: idle for ${ms / 1000} s`))
      : stream.destroy(),
  );
  return stream;
}

/**
 * Rejects through `reject` when the answer `res` closes before its end: an IncomingMessage without
 * an 'error' listener is destroyed silently when its connection drops mid-body, so a promise
 * settled only on 'end' would never settle.
 */
export function rejectIfCut(res: IncomingMessage, reject: (err: Error) => void, what: string): void {
  res.once('close', () => {
    if (!res.complete) reject(new Error(`${what}: connection closed before the end of the answer`));
  });
}
