/**
 * The Node byte relay, a bench target: every accepted connection is piped to the upstream as
 * it is, no HTTP parsing at all. It is what Node itself costs per proxied byte (two sockets, the
 * stream machinery, four syscalls per request), so berth's ratio to it shows how much of the
 * rest is berth's own work. Like berth it runs one process per worker, each accepting on the
 * same port with SO_REUSEPORT.
 *
 *   node bench/lib/relay-server.ts <workers> <listenPort>:<upstreamPort> [<listenPort>:<upstreamPort> …]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer, type Socket } from 'node:net';

const [first, ...pairs] = process.argv.slice(2);

function relay(listenPort: number, upstreamPort: number): Promise<void> {
  const server = createServer({ noDelay: true }, (client: Socket) => {
    const up = connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true });
    client.pipe(up).pipe(client);
    client.on('error', () => up.destroy());
    up.on('error', () => client.destroy());
    client.on('close', () => up.destroy());
    up.on('close', () => client.destroy());
  });
  return new Promise((resolve) =>
    server.listen({ host: '127.0.0.1', port: listenPort, reusePort: true, backlog: 4096 }, resolve),
  );
}

if (first === 'worker') {
  await Promise.all(
    pairs.map((p) => {
      const [l, u] = p.split(':').map(Number);
      return relay(l!, u!);
    }),
  );
  // A normal exit, so `--cpu-prof` gets to write its profile.
  process.on('SIGTERM', () => process.exit(0));
  process.on('SIGINT', () => process.exit(0));
  process.stdout.write('ready\n');
} else {
  const workers = Math.max(1, Number(first) || 1);
  const children: ChildProcess[] = [];
  for (let i = 0; i < workers; i++) {
    const child = spawn(process.execPath, [import.meta.filename, 'worker', ...pairs], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    children.push(child);
    await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  }
  process.stdout.write(`ready ${children.length} workers\n`);
  const stop = (): void => {
    for (const c of children) c.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
