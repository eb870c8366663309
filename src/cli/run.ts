import { loadStaticConfig } from '../config/static/load.ts';
import { formatStaticDiagnostics } from '../config/static/format.ts';
import { createLogger, setRootLogger } from '../lib/logger.ts';
import { Berth } from '../app.ts';
import { defaultParts } from '../parts.ts';

/** `berth run`: loads the static config, starts berth, drains on SIGTERM/SIGINT. Returns the exit code. */
export async function runCommand(path: string | undefined): Promise<number> {
  const loaded = await loadStaticConfig(path);
  if (!loaded.config) {
    process.stderr.write(formatStaticDiagnostics(loaded.diagnostics) + '\n');
    return 2;
  }
  const config = loaded.config;
  const log = createLogger({ level: config.log.level, ...(config.log.filePath ? { filePath: config.log.filePath } : {}) });
  setRootLogger(log);
  for (const d of loaded.diagnostics) log.warn({ source: d.source, element: d.element }, d.message);
  log.info({ config: loaded.source }, `berth starting with ${loaded.source}`);
  let berth: Berth;
  try {
    berth = await Berth.start(config, { logger: log, parts: defaultParts(config, log) });
  } catch (err) {
    log.fatal({ err }, (err as Error).message);
    process.stderr.write(`berth: ${(err as Error).message}\n`);
    return 1;
  }
  process.stdout.write(`berth ready: api ${berth.apiUrl()}\n`);
  const grace = 10_000;
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log.info({ signal }, 'draining');
      berth.stop(grace).then(() => { log.info('stopped'); log.flush?.(); resolve(0); }, (err: unknown) => { log.error({ err }, 'stop failed'); resolve(1); });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
}
