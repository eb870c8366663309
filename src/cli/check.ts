import { loadStaticConfig } from '../config/static/load.ts';
import { formatStaticDiagnostics } from '../config/static/format.ts';

/** `berth check [-c file]`: validates the static configuration without starting. */
export async function checkCommand(path: string | undefined): Promise<number> {
  const loaded = await loadStaticConfig(path);
  if (loaded.diagnostics.length > 0) process.stderr.write(formatStaticDiagnostics(loaded.diagnostics) + '\n');
  if (!loaded.config) return 2;
  const eps = Object.entries(loaded.config.entryPoints).map(([n, e]) => `${n}=${e.address}`).join(', ');
  process.stdout.write(`${loaded.source}: ok (entrypoints: ${eps || 'none'})\n`);
  return 0;
}
