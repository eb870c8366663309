import { pino, type Logger } from 'pino';

/** berth's structured logger: JSON lines with stable field names (pino). */
export type { Logger };

let root: Logger = pino({ level: process.env.BERTH_LOG_LEVEL ?? 'info', base: { name: 'berth' } });

/** Replaces the root logger (static config `log.level`, `log.filePath`, tests). */
export function setRootLogger(logger: Logger): void {
  root = logger;
}

/** The process-wide logger; children carry a `component` field. */
export function logger(component?: string): Logger {
  return component ? root.child({ component }) : root;
}

/** Creates a logger for the static config's `log` section. */
export function createLogger(opts: { level?: string; filePath?: string; format?: string }): Logger {
  const level = (opts.level ?? 'info').toLowerCase();
  const dest = opts.filePath ? pino.destination({ dest: opts.filePath, mkdir: true, sync: false }) : pino.destination({ fd: 1, sync: false });
  if (opts.filePath) logFiles.add(dest);
  return pino({ level, base: { name: 'berth' } }, dest);
}

const logFiles = new Set<{ reopen(): void }>();

/** Opens the log files of `log.filePath` again under their names (log rotation). */
export function reopenLogFiles(): void {
  for (const f of logFiles) f.reopen();
}
