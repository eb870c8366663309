import type { Socket } from 'node:net';

/**
 * What to do with a chunk of a connection's first bytes: `undefined` to read more, or what to do
 * once reading stops (put bytes back with `unshift`, hand the socket on, or destroy it).
 */
export type PrefixStep = (chunk: Buffer) => (() => void) | undefined;

/**
 * Reads a connection's first bytes (a ClientHello, a PROXY protocol header) chunk by chunk in
 * paused mode until `step` has seen enough. Its own listeners are removed before the returned
 * action runs, so the socket's next owner starts clean and reads again whatever is put back. A
 * connection that ends, fails or sends too little within `timeoutMs` (0: no limit) is destroyed.
 */
export function readPrefix(socket: Socket, timeoutMs: number, step: PrefixStep): void {
  const cleanup = (): void => {
    clearTimeout(timer);
    socket.removeListener('readable', onReadable);
    socket.removeListener('error', onGone);
    socket.removeListener('end', onGone);
  };
  const onGone = (): void => {
    cleanup();
    socket.destroy();
  };
  const onReadable = (): void => {
    let chunk: Buffer | null;
    while ((chunk = socket.read() as Buffer | null) !== null) {
      const then = step(chunk);
      if (then !== undefined) {
        cleanup();
        then();
        return;
      }
    }
  };
  const timer = timeoutMs > 0 ? setTimeout(onGone, timeoutMs) : undefined;
  socket.on('readable', onReadable);
  socket.on('error', onGone);
  socket.on('end', onGone);
}
