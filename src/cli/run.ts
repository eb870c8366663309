import { loadStaticConfig, loadStaticSource } from '../config/static/load.ts';
import type { StaticSource } from '../config/static/sources.ts';
import type { Diagnostic } from '../lib/diagnostics.ts';
import { formatStaticDiagnostics } from '../config/static/format.ts';
import { formatDiagnostic } from '../lib/diagnostics.ts';
import { errorMessage } from '../lib/errors.ts';
import { createLogger, setRootLogger, type Logger } from '../lib/logger.ts';
import { Berth } from '../app.ts';
import { reduceMemoryNow, startIdleGc } from '../lib/idle-gc.ts';
import { defaultParts } from '../parts.ts';
import type { StaticConfig } from '../config/static/types.ts';
import { claimSockets, closeFds, socketFds, takeInheritedSockets } from '../ops/systemd.ts';
import { handOver, signalReady } from '../ops/handover.ts';
import { acceptGraceMs, diffStaticConfig, graceMs } from '../ops/config-diff.ts';

/**
 * `berth run`: loads the static config, adopts inherited listening sockets (systemd socket
 * activation or a hand-over), starts berth, and handles the operations signals:
 *
 * - SIGTERM / SIGINT: stop accepting, drain in-flight requests up to the entrypoints'
 *   `transport.lifeCycle.graceTimeOut` (default 10 s), exit 0;
 * - SIGHUP: re-read and validate the static file, apply what can change live, log what needs a
 *   restart;
 * - SIGUSR2: zero-downtime restart — start a new berth (new code, new static file) on the same
 *   listening sockets, then drain this one.
 *
 * Returns the exit code.
 */
export async function runCommand(from: StaticSource, notes: readonly Diagnostic[] = []): Promise<number> {
  const inherited = takeInheritedSockets();
  const loaded = await loadStaticSource(from);
  if (!loaded.config) {
    process.stderr.write(formatStaticDiagnostics([...notes, ...loaded.diagnostics]) + '\n');
    return 2;
  }
  const path = from.kind === 'file' ? from.path : undefined;
  const config = loaded.config;
  const log = createLogger({
    level: config.log.level,
    ...(config.log.filePath ? { filePath: config.log.filePath } : {}),
  });
  setRootLogger(log);
  for (const d of [...notes, ...loaded.diagnostics]) log.warn({ source: d.source, element: d.element }, d.message);
  const where =
    from.kind === 'file' && from.found === 'default location' ? ` (found in Traefik's default location)` : '';
  log.info({ config: loaded.source, pid: process.pid }, `berth starting with ${loaded.source}${where}`);
  const { claimed, unclaimedFds, diagnostics: unclaimed } = claimSockets(inherited, config.entryPoints);
  for (const d of [...inherited.diagnostics, ...unclaimed]) log.warn({ element: d.element }, formatDiagnostic(d));
  for (const f of closeFds(unclaimedFds)) log.warn({ fd: f.fd }, `cannot close inherited fd ${f.fd}: ${f.error}`);
  if (claimed.size > 0) {
    log.info(
      { origin: inherited.origin, sockets: Object.fromEntries([...claimed].map(([n, s]) => [n, socketFds(s)])) },
      `adopting ${claimed.size} inherited listening socket(s) from ${inherited.origin === 'systemd' ? 'systemd' : 'the previous process'}: ${[...claimed.keys()].join(', ')}`,
    );
  }
  let berth: Berth;
  let fatal: ((message: string) => void) | undefined;
  try {
    // A worker lost with a shared inherited socket: drain and exit non-zero, so the service manager
    // restarts berth on its socket (connections wait in the socket's queue meanwhile).
    const onFatal = (message: string): void => fatal?.(message);
    berth = await Berth.start(config, {
      logger: log,
      parts: await defaultParts(config, log),
      inherited: claimed,
      onFatal,
    });
    // What start-up allocated goes back now; memory grown under load once the process is quiet
    // again (the workers do the same).
    reduceMemoryNow();
    startIdleGc();
  } catch (err) {
    log.fatal({ err }, (err as Error).message);
    log.flush?.();
    process.stderr.write(`berth: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`berth ready: api ${berth.apiUrl()}\n`);
  if (signalReady()) log.info('told the previous process that this one serves');
  return new Promise<number>((resolve) => {
    const ops = new Operations(berth, config, path, log, resolve);
    fatal = (message) => ops.drain(message, 1);
    process.on('SIGTERM', () => ops.drain('SIGTERM'));
    process.on('SIGINT', () => ops.drain('SIGINT'));
    process.on('SIGHUP', () => void ops.reload());
    process.on('SIGUSR2', () => void ops.restart());
    // Log rotation, as Traefik: without a listener Node would open its debugger on SIGUSR1.
    process.on('SIGUSR1', () => ops.reopenLogs());
  });
}

/** The running process's reactions to signals; one operation at a time. */
class Operations {
  private readonly berth: Berth;
  private config: StaticConfig;
  private readonly path: string | undefined;
  private readonly log: Logger;
  private readonly done: (code: number) => void;
  private state: 'running' | 'reloading' | 'handing-over' | 'draining' = 'running';

  constructor(berth: Berth, config: StaticConfig, path: string | undefined, log: Logger, done: (code: number) => void) {
    this.berth = berth;
    this.config = config;
    this.path = path;
    this.log = log;
    this.done = done;
  }

  /** Stops accepting and drains; exit code `code` (0) once every connection is finished or cut at the deadline. */
  drain(signal: string, code = 0): void {
    if (this.state === 'draining') return;
    this.state = 'draining';
    const grace = graceMs(this.config);
    const acceptMs = acceptGraceMs(this.config);
    this.log.info({ signal, graceMs: grace, acceptGraceMs: acceptMs }, `${signal}: draining (grace ${grace} ms)`);
    const stop = (): void => {
      this.berth.stop(grace).then(
        () => {
          this.log.info('stopped');
          this.log.flush?.();
          this.done(code);
        },
        (err: unknown) => {
          this.log.error({ err }, 'stop failed');
          this.log.flush?.();
          this.done(1);
        },
      );
    };
    if (acceptMs > 0) setTimeout(stop, acceptMs);
    else stop();
  }

  /** SIGUSR1: opens `log.filePath` and `accessLog.filePath` again (after logrotate moved them). */
  reopenLogs(): void {
    this.berth.reopenLogs();
    this.log.info('SIGUSR1: log files reopened');
  }

  /** SIGHUP: re-reads the static file; applies the log level live and names what needs a restart. */
  async reload(): Promise<void> {
    if (this.state !== 'running') {
      this.log.warn({ state: this.state }, `SIGHUP ignored while ${this.state}`);
      return;
    }
    if (this.path === undefined) {
      this.log.info('SIGHUP: the static configuration does not come from a file; nothing to re-read');
      return;
    }
    this.state = 'reloading';
    try {
      const loaded = await loadStaticConfig(this.path);
      if (!loaded.config) {
        for (const d of loaded.diagnostics) this.log.error({ element: d.element }, formatDiagnostic(d));
        this.log.error(`SIGHUP: ${loaded.source} is invalid; the running configuration stays in place`);
        return;
      }
      const diff = diffStaticConfig(this.config, loaded.config);
      if (diff.changed.length === 0) {
        this.log.info(`SIGHUP: ${loaded.source} unchanged`);
        return;
      }
      if (diff.live.includes('log.level')) this.log.level = loaded.config.log.level.toLowerCase();
      this.berth.reconfigure(loaded.config);
      const restart =
        diff.restartRequired.length > 0
          ? `; restart required for: ${diff.restartRequired.join(', ')} (SIGUSR2 or systemctl restart berth: no connection is dropped)`
          : '';
      this.log.info(
        { changed: diff.changed, applied: diff.live, restartRequired: diff.restartRequired },
        `SIGHUP: changed ${diff.changed.join(', ')}${diff.live.length ? `; applied: ${diff.live.join(', ')}` : ''}${restart}`,
      );
      // Remember only what was applied, so a later SIGHUP reports the pending changes again.
      if (diff.live.includes('log.level'))
        this.config = { ...this.config, log: { ...this.config.log, level: loaded.config.log.level } };
      if (diff.live.some((k) => k.startsWith('edge.'))) {
        const { publicIPv4: _v4, publicIPv6: _v6, ...edge } = this.config.edge;
        const next = loaded.config.edge;
        this.config = {
          ...this.config,
          edge: {
            ...edge,
            ...(next.publicIPv4 !== undefined ? { publicIPv4: next.publicIPv4 } : {}),
            ...(next.publicIPv6 !== undefined ? { publicIPv6: next.publicIPv6 } : {}),
          },
        };
      }
    } catch (err) {
      this.log.error({ err }, `SIGHUP failed: ${errorMessage(err)}`);
    } finally {
      if (this.state === 'reloading') this.state = 'running';
    }
  }

  /**
   * SIGUSR2: hands the listening sockets to a new berth process (same command line, so a new
   * version on disk and the current static file are picked up), then drains this one. When the new
   * process fails to start, this one keeps serving.
   */
  async restart(): Promise<void> {
    if (this.state !== 'running') {
      this.log.warn({ state: this.state }, `SIGUSR2 ignored while ${this.state}`);
      return;
    }
    if (process.env.INVOCATION_ID !== undefined && process.env.BERTH_HANDOVER_UNDER_SYSTEMD !== '1') {
      // systemd would see its main process exit and stop the unit, successor included.
      this.log.warn(
        'SIGUSR2: running under systemd; use `systemctl restart berth` (berth.socket keeps the listening sockets open)',
      );
      return;
    }
    if (process.pid === 1) {
      // As a container's PID 1 our exit stops the container, successor included.
      this.log.warn('SIGUSR2: berth is PID 1 (a container); replace the container to restart it');
      return;
    }
    this.state = 'handing-over';
    // The API is not on the data path: only it is briefly unavailable during the hand-over.
    const api = this.berth.api;
    let udp: Awaited<ReturnType<Berth['plane']['releaseUdp']>> = [];
    try {
      // The API port and UDP sockets are bound anew by the successor, so they are released first.
      await api?.stop();
      udp = await this.berth.plane.releaseUdp();
      const listeners = this.berth.listeningSockets();
      const argv = process.argv.slice(1);
      const next = await handOver({
        command: [process.execPath, ...process.execArgv, ...argv],
        listeners,
        timeoutMs: 30_000,
      });
      this.log.info(
        { pid: next.pid, sockets: next.passed },
        `SIGUSR2: handed ${next.passed.length} listening socket(s) over to pid ${next.pid}`,
      );
      process.stdout.write(`berth handed over to pid ${next.pid}\n`);
      this.state = 'running';
      this.drain('SIGUSR2');
    } catch (err) {
      this.log.error({ err }, `SIGUSR2: ${errorMessage(err)}; this process keeps serving`);
      await api
        ?.start()
        .catch((e: unknown) => this.log.error({ err: e }, `api: cannot listen again: ${errorMessage(e)}`));
      for (const u of udp) await u.start().catch((e: unknown) => this.log.error({ err: e }, errorMessage(e)));
      this.state = 'running';
    }
  }
}
