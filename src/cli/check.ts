import { loadStaticConfig } from '../config/static/load.ts';
import { formatStaticDiagnostics } from '../config/static/format.ts';
import { formatDiagnostic } from '../lib/diagnostics.ts';
import { loadDirectory, loadFile } from '../providers/file/load-files.ts';

/**
 * `berth check [-c file]`: validates the static configuration without starting, and the dynamic
 * files of `providers.file` when it has one. Every key that berth accepts without effect is a
 * warning naming it and what happens instead. Exit 0 when only warnings were found, 2 on errors.
 */
export async function checkCommand(path: string | undefined): Promise<number> {
  const loaded = await loadStaticConfig(path);
  if (loaded.diagnostics.length > 0) process.stderr.write(formatStaticDiagnostics(loaded.diagnostics) + '\n');
  if (!loaded.config) return 2;
  const eps = Object.entries(loaded.config.entryPoints).map(([n, e]) => `${n}=${e.address}`).join(', ');
  process.stdout.write(`${loaded.source}: ok (entrypoints: ${eps || 'none'})\n`);
  const file = loaded.config.providers.file;
  const where = file?.directory ?? file?.filename;
  if (file === undefined || where === undefined) return 0;
  const r = file.directory !== undefined ? await loadDirectory(file.directory) : await loadFile(where);
  if (!r.ok) {
    process.stderr.write(`error: providers.file: ${r.error}\n`);
    return 2;
  }
  for (const d of r.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
  const errors = r.diagnostics.filter((d) => d.level === 'error').length;
  const routers = ['http', 'tcp', 'udp'] as const;
  const count = routers.reduce((n, p) => n + Object.keys(r.config[p]?.routers ?? {}).length, 0);
  process.stdout.write(`${where}: ${errors === 0 ? 'ok' : 'invalid'} (${count} router(s), ${errors} error(s), ${r.diagnostics.length - errors} warning(s))\n`);
  return errors === 0 ? 0 : 2;
}
