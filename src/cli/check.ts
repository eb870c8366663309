import { loadStaticSource } from '../config/static/load.ts';
import { formatStaticDiagnostics } from '../config/static/format.ts';
import type { StaticSource } from '../config/static/sources.ts';
import { formatDiagnostic, type Diagnostic } from '../lib/diagnostics.ts';
import { loadDirectory, loadFile } from '../providers/file/load-files.ts';

/**
 * `berth check [-c file | Traefik flags]`: validates the static configuration (from the source
 * `berth run` would read) without starting, and the dynamic files of `providers.file` when it has
 * one. Every key that berth accepts without effect is a warning naming it and what happens
 * instead. Exit 0 when only warnings were found, 2 on errors.
 */
export async function checkCommand(from: StaticSource, notes: readonly Diagnostic[] = []): Promise<number> {
  const loaded = await loadStaticSource(from);
  const diagnostics = [...notes, ...loaded.diagnostics];
  if (diagnostics.length > 0) process.stderr.write(formatStaticDiagnostics(diagnostics) + '\n');
  if (!loaded.config) return 2;
  const eps = Object.entries(loaded.config.entryPoints)
    .map(([n, e]) => `${n}=${e.address}`)
    .join(', ');
  process.stdout.write(`${loaded.source}: ok (entrypoints: ${eps || 'none'})\n`);
  const file = loaded.config.providers.file;
  const where = file?.directory ?? file?.filename;
  if (file === undefined || where === undefined) return 0;
  const r = file.directory !== undefined ? await loadDirectory(file.directory) : await loadFile(where);
  if (!r.ok) {
    // berth run starts all the same and reads the files once they are there.
    process.stderr.write(`warning: providers.file: ${r.error}; not checked\n`);
    return 0;
  }
  for (const d of r.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
  const errors = r.diagnostics.filter((d) => d.level === 'error').length;
  const routers = ['http', 'tcp', 'udp'] as const;
  const count = routers.reduce((n, p) => n + Object.keys(r.config[p]?.routers ?? {}).length, 0);
  process.stdout.write(
    `${where}: ${errors === 0 ? 'ok' : 'invalid'} (${count} router(s), ${errors} error(s), ${r.diagnostics.length - errors} warning(s))\n`,
  );
  return errors === 0 ? 0 : 2;
}
