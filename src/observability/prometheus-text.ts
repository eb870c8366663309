/**
 * Prometheus text exposition (format 0.0.4) written by hand: a family is `# HELP`, `# TYPE` and
 * its samples. Only what berth needs: counters, gauges and histograms with fixed label sets.
 */

/** Escapes a label value (`\`, `"` and newlines), as the format requires. */
export function escapeLabelValue(v: string): string {
  return /[\\"\n]/.test(v) ? v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c)) : v;
}

/** Escapes HELP text (`\` and newlines). */
function escapeHelp(v: string): string {
  return v.replace(/[\\\n]/g, (c) => (c === '\n' ? '\\n' : '\\\\'));
}

/** Valid metric and label names. */
export const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
export const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** `a="x",b="y"` from names and values (values escaped here). */
export function labelString(names: readonly string[], values: readonly string[]): string {
  let s = '';
  for (let i = 0; i < names.length; i++) {
    if (i > 0) s += ',';
    s += names[i] + '="' + escapeLabelValue(values[i] ?? '') + '"';
  }
  return s;
}

/** A number as Prometheus writes it (`+Inf`, `-Inf`, `NaN`, plain decimals otherwise). */
export function formatValue(n: number): string {
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (Number.isNaN(n)) return 'NaN';
  return String(n);
}

/** Builds one exposition; families are written whole, in the order they are added. */
export class Exposition {
  private out = '';

  /** Writes a family header. */
  family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): this {
    this.out += `# HELP ${name} ${escapeHelp(help)}\n# TYPE ${name} ${type}\n`;
    return this;
  }

  /** One sample; `labels` is a prepared label string (may be empty). */
  sample(name: string, labels: string, value: number): this {
    this.out += labels ? `${name}{${labels}} ${formatValue(value)}\n` : `${name} ${formatValue(value)}\n`;
    return this;
  }

  /** The samples of one histogram series: cumulative buckets, `+Inf`, sum and count. */
  histogram(
    name: string,
    labels: string,
    bounds: readonly number[],
    counts: ArrayLike<number>,
    sum: number,
    count: number,
  ): this {
    const sep = labels ? labels + ',' : '';
    let cumulative = 0;
    for (let i = 0; i < bounds.length; i++) {
      cumulative += counts[i]!;
      this.out += `${name}_bucket{${sep}le="${formatValue(bounds[i]!)}"} ${cumulative}\n`;
    }
    this.out += `${name}_bucket{${sep}le="+Inf"} ${count}\n`;
    this.sample(name + '_sum', labels, sum);
    this.sample(name + '_count', labels, count);
    return this;
  }

  toString(): string {
    return this.out;
  }
}
