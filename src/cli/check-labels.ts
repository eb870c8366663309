import { readFile } from 'node:fs/promises';
import { stringify as toYaml } from 'yaml';
import { lintCompose } from '../config/labels/compose.ts';
import { loadStaticSource } from '../config/static/load.ts';
import type { StaticSource } from '../config/static/sources.ts';
import { formatDiagnostic } from '../lib/diagnostics.ts';

/**
 * `berth check --labels compose.yaml [--output json|yaml]`: lints a compose file's labels offline
 * with the same decoder the Docker provider uses; prints diagnostics and, on request, the dynamic
 * configuration they decode to. Exit 2 when any label is in error.
 */
export async function checkLabelsCommand(
  file: string,
  from: StaticSource,
  output: string | undefined,
): Promise<number> {
  if (output !== undefined && output !== 'json' && output !== 'yaml') {
    process.stderr.write(`berth check: --output must be json or yaml, got "${output}"\n`);
    return 2;
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    process.stderr.write(`berth check: cannot read ${file}: ${(err as Error).message}\n`);
    return 2;
  }
  const loaded = await loadStaticSource(from);
  const cfg = loaded.config;
  const docker = cfg?.providers.docker;
  const r = lintCompose(text, file, {
    exposedByDefault: docker?.exposedByDefault ?? true,
    defaultRule: docker?.defaultRule ?? 'Host(`{{ normalize .Name }}`)',
    ...(docker?.network ? { network: docker.network } : {}),
    ...(docker?.constraints ? { constraints: docker.constraints } : {}),
    edge: {
      autoRoutes: cfg?.edge.autoRoutes ?? true,
      ...(cfg?.edge.machineName ? { machineName: cfg.edge.machineName } : {}),
      ...(cfg?.edge.baseDomain ? { baseDomain: cfg.edge.baseDomain } : {}),
      ...(cfg?.edge.certResolver ? { certResolver: cfg.edge.certResolver } : {}),
    },
  });
  for (const d of r.diagnostics) process.stderr.write(formatDiagnostic(d) + '\n');
  if (output === 'json')
    process.stdout.write(JSON.stringify({ config: r.config, diagnostics: r.diagnostics }, null, 2) + '\n');
  else if (output === 'yaml') process.stdout.write(toYaml({ config: r.config, diagnostics: r.diagnostics }));
  else {
    const routers =
      Object.keys(r.config.http?.routers ?? {}).length +
      Object.keys(r.config.tcp?.routers ?? {}).length +
      Object.keys(r.config.udp?.routers ?? {}).length;
    process.stdout.write(
      `${file}: ${routers} router(s), ${r.diagnostics.filter((d) => d.level === 'error').length} error(s), ${r.diagnostics.filter((d) => d.level === 'warning').length} warning(s)\n`,
    );
  }
  return r.diagnostics.some((d) => d.level === 'error') ? 2 : 0;
}
