/**
 * A strict parser of the Prometheus text format (0.0.4), for tests: anything a Prometheus server
 * would refuse or silently mangle throws here, with the line number.
 */

export interface PromSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface PromFamily {
  readonly name: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help?: string;
  readonly samples: PromSample[];
}

const METRIC = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]?Inf|NaN)$/;

function parseFloatStrict(s: string, where: string): number {
  if (!FLOAT.test(s)) throw new Error(`${where}: bad value ${JSON.stringify(s)}`);
  if (s === '+Inf' || s === 'Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/** The family a sample name belongs to (histogram suffixes stripped when such a family exists). */
function familyOf(name: string, families: Map<string, PromFamily>): PromFamily | undefined {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === 'histogram' || f.type === 'summary')) return f;
    }
  }
  return families.get(name);
}

/** Parses `text`; throws on any deviation from the format. */
export function parsePrometheus(text: string): Map<string, PromFamily> {
  if (text !== '' && !text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, PromFamily>();
  const seriesSeen = new Set<string>();
  const closed = new Set<string>();
  let current: PromFamily | undefined;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const where = `line ${i + 1}`;
    if (line === '') throw new Error(`${where}: empty line`);
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) return; // plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC.test(name)) throw new Error(`${where}: bad metric name ${name}`);
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest))
          throw new Error(`${where}: bad type ${rest}`);
        const existing = families.get(name);
        if (existing && existing.samples.length > 0) throw new Error(`${where}: TYPE after samples of ${name}`);
        if (existing && existing.type !== 'untyped') throw new Error(`${where}: second TYPE for ${name}`);
        const f: PromFamily = {
          name,
          type: rest as PromFamily['type'],
          samples: [],
          ...(existing?.help !== undefined ? { help: existing.help } : {}),
        };
        families.set(name, f);
      } else {
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) throw new Error(`${where}: bad escape in HELP`);
        const f = families.get(name) ?? { name, type: 'untyped' as const, samples: [] };
        if (f.help !== undefined) throw new Error(`${where}: second HELP for ${name}`);
        f.help = rest;
        families.set(name, f);
      }
      return;
    }
    // name{labels} value [timestamp]
    const nm = /^([a-zA-Z_:][a-zA-Z0-9_:]*)/.exec(line);
    if (!nm) throw new Error(`${where}: bad sample ${JSON.stringify(line)}`);
    const name = nm[1]!;
    let pos = name.length;
    const labels: Record<string, string> = {};
    if (line[pos] === '{') {
      pos++;
      while (line[pos] !== '}') {
        const lm = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(pos));
        if (!lm) throw new Error(`${where}: bad label at ${pos}: ${line.slice(pos, pos + 20)}`);
        const lname = lm[1]!;
        if (!LABEL.test(lname)) throw new Error(`${where}: bad label name ${lname}`);
        if (lname in labels) throw new Error(`${where}: duplicate label ${lname}`);
        pos += lm[0].length;
        let value = '';
        for (;;) {
          const c = line[pos];
          if (c === undefined) throw new Error(`${where}: unterminated label value`);
          if (c === '"') {
            pos++;
            break;
          }
          if (c === '\\') {
            const n = line[pos + 1];
            if (n === '\\') value += '\\';
            else if (n === '"') value += '"';
            else if (n === 'n') value += '\n';
            else throw new Error(`${where}: bad escape \\${n}`);
            pos += 2;
            continue;
          }
          value += c;
          pos++;
        }
        labels[lname] = value;
        if (line[pos] === ',') pos++;
        else if (line[pos] !== '}') throw new Error(`${where}: expected , or } at ${pos}`);
      }
      pos++;
    }
    if (line[pos] !== ' ') throw new Error(`${where}: expected a space before the value`);
    const parts = line.slice(pos + 1).split(' ');
    if (parts.length < 1 || parts.length > 2) throw new Error(`${where}: bad value part`);
    const value = parseFloatStrict(parts[0]!, where);
    if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) throw new Error(`${where}: bad timestamp`);
    const fam = familyOf(name, families);
    if (!fam) throw new Error(`${where}: sample ${name} without TYPE`);
    if (closed.has(fam.name)) throw new Error(`${where}: samples of ${fam.name} are not contiguous`);
    if (current && current !== fam) closed.add(current.name);
    current = fam;
    if (fam.type === 'counter' && !name.endsWith('_total') && name === fam.name && !fam.name.endsWith('_total')) {
      // Prometheus accepts counters without _total; berth always writes it.
      throw new Error(`${where}: counter ${name} without _total`);
    }
    if (fam.type === 'counter' && value < 0) throw new Error(`${where}: negative counter`);
    if (fam.type === 'histogram' && name === fam.name) throw new Error(`${where}: bare histogram sample ${name}`);
    if (name.endsWith('_bucket') && fam.type === 'histogram' && labels.le === undefined)
      throw new Error(`${where}: bucket without le`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seriesSeen.has(key)) throw new Error(`${where}: duplicate series ${key}`);
    seriesSeen.add(key);
    fam.samples.push({ name, labels, value });
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return families;
}

/** Buckets are cumulative, `+Inf` is present and equals `_count`. */
function checkHistogram(f: PromFamily): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number; sum?: number }>();
  for (const s of f.samples) {
    const { le, ...rest } = s.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const g = groups.get(key) ?? { buckets: [] };
    groups.set(key, g);
    if (s.name.endsWith('_bucket')) g.buckets.push([parseFloatStrict(le!, `${f.name} le`), s.value]);
    else if (s.name.endsWith('_count')) g.count = s.value;
    else if (s.name.endsWith('_sum')) g.sum = s.value;
  }
  for (const [key, g] of groups) {
    if (g.count === undefined || g.sum === undefined) throw new Error(`${f.name}${key}: missing _count or _sum`);
    const inf = g.buckets.find(([le]) => le === Infinity);
    if (!inf) throw new Error(`${f.name}${key}: no +Inf bucket`);
    if (inf[1] !== g.count) throw new Error(`${f.name}${key}: +Inf bucket ${inf[1]} != count ${g.count}`);
    const sorted = [...g.buckets].sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i]![1] < sorted[i - 1]![1]) throw new Error(`${f.name}${key}: buckets not cumulative`);
  }
}

/** The value of the one sample of `name` whose labels include `match`; undefined when none. */
export function sampleValue(
  families: Map<string, PromFamily>,
  name: string,
  match: Record<string, string> = {},
): number | undefined {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      if (Object.entries(match).every(([k, v]) => s.labels[k] === v)) return s.value;
    }
  }
  return undefined;
}
