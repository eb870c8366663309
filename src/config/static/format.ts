/**
 * Human-readable output of static configuration problems for the CLI (`berth check`, `berth run`).
 */
import { formatDiagnostic, type Diagnostic } from '../../lib/diagnostics.ts';

/**
 * One line per diagnostic, errors first, then a summary line when there is anything to report:
 * `error: file berth.yaml: entryPoints.web.adress: unknown key, did you mean "address"?`.
 */
export function formatStaticDiagnostics(diagnostics: readonly Diagnostic[]): string {
  if (diagnostics.length === 0) return '';
  const errors = diagnostics.filter((d) => d.level === 'error');
  const warnings = diagnostics.filter((d) => d.level === 'warning');
  const lines = [...errors, ...warnings].map(formatDiagnostic);
  const count = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  lines.push(
    errors.length > 0
      ? `static configuration is invalid: ${count(errors.length, 'error')}, ${count(warnings.length, 'warning')}`
      : `static configuration is valid with ${count(warnings.length, 'warning')}`,
  );
  return lines.join('\n');
}
