/**
 * Configuration problems are values, never exceptions: every decoder, provider and compiler step
 * returns diagnostics next to whatever it could still build.
 */

/** How bad a problem is: an `error` drops the element it names, a `warning` keeps it. */
export type DiagnosticLevel = 'error' | 'warning';

/** One configuration problem, written for the person who has to fix it. */
export interface Diagnostic {
  readonly level: DiagnosticLevel;
  /** Where the input came from, e.g. `container "web" on daemon docker-2816` or `file /etc/berth/dyn.yaml`. */
  readonly source: string;
  /** The element or key concerned, e.g. `http.routers.api@docker` or `label traefik.http.routers.x.rule`. */
  readonly element?: string;
  /** What is wrong and, where possible, what to do about it. */
  readonly message: string;
}

/** Builds an error diagnostic; `element` is omitted when empty so objects stay exact. */
export function diagError(source: string, element: string | undefined, message: string): Diagnostic {
  return element === undefined ? { level: 'error', source, message } : { level: 'error', source, element, message };
}

/** Builds a warning diagnostic. */
export function diagWarning(source: string, element: string | undefined, message: string): Diagnostic {
  return element === undefined ? { level: 'warning', source, message } : { level: 'warning', source, element, message };
}

/** One line for logs and the CLI: `error: <source>: <element>: <message>`. */
export function formatDiagnostic(d: Diagnostic): string {
  return `${d.level}: ${d.source}${d.element ? `: ${d.element}` : ''}: ${d.message}`;
}
