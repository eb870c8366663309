import { createLogger } from '../lib/logger.ts';
import { startIdleGc } from '../lib/idle-gc.ts';
import { WorkerDataPlane } from './data-plane.ts';
import { INHERITED_ENV, type FromWorker, type ToWorker } from './protocol.ts';

/**
 * A data-plane worker process (forked by the primary's WorkerSupervisor, entered through
 * `src/worker-main.ts`). It waits for `init`, opens its entrypoints, then applies what the primary
 * publishes until told to drain.
 */
function send(msg: FromWorker): void {
  // The primary may be gone (killed while this worker started): then there is nothing to tell.
  if (process.connected) process.send?.(msg, undefined, undefined, () => undefined);
}

let plane: WorkerDataPlane | undefined;
let draining = false;
let listenOnce: (() => Promise<void>) | undefined;

function inheritedFds(): Map<string, number[]> {
  const m = new Map<string, number[]>();
  for (const pair of (process.env[INHERITED_ENV] ?? '').split(',')) {
    const [name, fd] = pair.split(':');
    if (name && fd && /^\d+$/.test(fd)) m.set(name, [...(m.get(name) ?? []), Number(fd)]);
  }
  return m;
}

async function drain(graceMs: number): Promise<void> {
  if (draining) return;
  draining = true;
  // Whatever happens while draining, this process does not outlive the grace period by much.
  setTimeout(() => process.exit(0), graceMs + 2000).unref();
  await plane?.drain(graceMs).catch(() => undefined);
  if (plane?.metrics) send({ type: 'metrics', state: plane.metrics.exportState() });
  process.exit(0);
}

function onMessage(raw: unknown): void {
  const msg = raw as ToWorker;
  switch (msg.type) {
    case 'init': {
      const log = createLogger({ level: msg.config.log.level, ...(msg.config.log.filePath ? { filePath: msg.config.log.filePath } : {}) }).child({ worker: process.pid });
      plane = new WorkerDataPlane(msg.config, msg.apiUrl, log);
      if (plane.metrics) { const m = plane.metrics; setInterval(() => send({ type: 'metrics', state: m.exportState() }), 1000).unref(); }
      const p = plane;
      // Listen only once the first configuration is applied (the primary sends it right after
      // init): connections queued on an inherited socket are answered with real routes.
      listenOnce = () => p.listen(inheritedFds()).then(
        (entrypoints) => send({ type: 'listening', entrypoints }),
        (err: unknown) => { send({ type: 'fatal', message: (err as Error).message }); process.exit(1); },
      );
      return;
    }
    case 'config': {
      plane?.applyConfig(msg.version, msg.config, msg.diagnostics, msg.ports);
      const listen = listenOnce;
      listenOnce = undefined;
      void listen?.();
      return;
    }
    case 'certs': plane?.applyCertificates(msg.state); return;
    case 'http01': plane?.applyHttp01(msg.tokens); return;
    case 'tickets': plane?.applyTicketKeys(Buffer.from(msg.keys, 'base64')); return;
    case 'drain': void drain(msg.graceMs); return;
    case 'reopen-logs': reopenLogs(); return;
  }
}

/** Log rotation: `log.filePath` and the access log's file are opened again. */
function reopenLogs(): void {
  plane?.reopenLogs();
}

/** Starts the worker with the messages that arrived while its modules loaded. */
export function startWorker(early: readonly unknown[]): void {
  // Log rotation (SIGUSR1, as Traefik; also sent to every process of the unit by `systemctl kill`):
  // without a listener Node would open its debugger on it.
  process.on('SIGUSR1', reopenLogs);
  startIdleGc();
  process.on('message', onMessage);
  for (const m of early) onMessage(m);
  // The primary owns the lifecycle; a signal to the whole group (Ctrl-C) drains too.
  process.on('SIGTERM', () => void drain(10_000));
  process.on('SIGINT', () => void drain(10_000));
  // Without the primary there is no configuration source: finish what is in flight and leave.
  process.on('disconnect', () => void drain(5_000));
  if (!process.connected) void drain(5_000);
}
