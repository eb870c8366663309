import type { Socket } from 'node:net';

/** How long the other side gets to finish its close once one side of a tunnel sent its FIN (ms). */
const LINGER_MS = 5000;

/**
 * Relays bytes both ways between a client and an upstream after a `101` (WebSocket), with
 * backpressure each way. A tunnel lives exactly as long as both sides: a FIN from one side is
 * passed on and the other gets a few seconds to finish its close, then both are destroyed; a
 * close or reset of either destroys the other, so an upstream that never answers a FIN cannot pin
 * descriptors.
 */
export function relay(client: Socket, upstream: Socket): void {
  pipe(client, upstream);
  pipe(upstream, client);
  let timer: NodeJS.Timeout | undefined;
  const linger = (): void => {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      client.destroy();
      upstream.destroy();
    }, LINGER_MS);
    timer.unref();
  };
  client.on('end', linger);
  upstream.on('end', linger);
  client.once('close', () => {
    clearTimeout(timer);
    upstream.destroy();
  });
  upstream.once('close', () => {
    clearTimeout(timer);
    client.destroy();
  });
  client.on('error', () => client.destroy());
  upstream.on('error', () => upstream.destroy());
  client.resume();
  upstream.resume();
}

function pipe(from: Socket, to: Socket): void {
  from.on('data', (chunk: Buffer) => {
    if (!to.write(chunk)) from.pause();
  });
  to.on('drain', () => from.resume());
  from.on('end', () => {
    if (!to.destroyed) to.end();
  });
}
