import { createRequire } from 'node:module';
import { pino, type DestinationStream, type Logger } from 'pino';

/** berth's structured logger: JSON lines with stable field names (pino); human-readable lines on a terminal. */
export type { Logger };

/**
 * Whether the lines written to `out` are read by a person: only when it is a terminal. Pipes, files
 * and systemd's journal (a socket) always get JSON, so collectors never see anything else.
 */
export function wantsReadableLogs(out: { readonly isTTY?: boolean } = process.stdout): boolean {
  return out.isTTY === true;
}

/**
 * Where stdout log lines go: JSON straight to fd 1, or through pino-pretty when a person is
 * watching. pino-pretty is loaded only then, and formats each line in this thread as it is
 * written (Node writes to a terminal synchronously anyway): no transport worker, no stream
 * pipeline. Colours follow the terminal (NO_COLOR, FORCE_COLOR).
 */
function stdoutDestination(sync: boolean): DestinationStream {
  if (!wantsReadableLogs()) return pino.destination({ fd: 1, sync });
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const pretty = prettyFactory({ singleLine: true, ignore: 'pid,hostname,name', translateTime: 'SYS:HH:MM:ss.l' });
  return { write: (line: string) => void process.stdout.write(pretty(line)) };
}

let root: Logger = pino(
  { level: process.env.BERTH_LOG_LEVEL ?? 'info', base: { name: 'berth' } },
  stdoutDestination(true),
);

/** Replaces the root logger (static config `log.level`, `log.filePath`, tests). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

/** The process-wide logger; children carry a `component` field. */
export function logger(component?: string): Logger {
  return component ? root.child({ component }) : root;
}

/** Creates a logger for the static config's `log` section: the file always gets JSON, stdout as {@link wantsReadableLogs} says. */
export function createLogger(opts: { level?: string; filePath?: string; format?: string }): Logger {
  const level = (opts.level ?? 'info').toLowerCase();
  if (!opts.filePath) return pino({ level, base: { name: 'berth' } }, stdoutDestination(false));
  const dest = pino.destination({ dest: opts.filePath, mkdir: true, sync: false });
  logFiles.add(dest);
  return pino({ level, base: { name: 'berth' } }, dest);
}

const logFiles = new Set<{ reopen(): void }>();

/** Opens the log files of `log.filePath` again under their names (log rotation). */
export function reopenLogFiles(): void {
  for (const f of logFiles) f.reopen();
}
