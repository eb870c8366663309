/**
 * Decode time of a dynamic configuration with 10,000 `Host()` routers and their services, through
 * the file provider's decoder (`parseDynamicText` on JSON and YAML text, and `decodeDynamicConfig`
 * on parsed data), and the memory the configuration modules take once loaded.
 *
 *   node bench/config-decode.ts [--routers N] [--src DIR]
 *
 * `--src` points at another checkout's `src/` to compare two versions on one machine.
 */
import { parseArgs } from 'node:util';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { stringify } from 'yaml';
import { routersConfig } from './lib/routers-config.ts';

const { values } = parseArgs({
  options: {
    routers: { type: 'string', default: '10000' },
    src: { type: 'string', default: resolve(import.meta.dirname, '../src') },
  },
});
const n = Number(values.routers);

function mem(): { heapMB: number; rssMB: number } {
  globalThis.gc?.();
  const m = process.memoryUsage();
  return { heapMB: +(m.heapUsed / 1048576).toFixed(1), rssMB: +(m.rss / 1048576).toFixed(1) };
}

const before = mem();
const mod = (await import(
  pathToFileURL(resolve(values.src, 'config/dynamic/decode.ts')).href
)) as typeof import('../src/config/dynamic/decode.ts');
const loaded = mem();

const doc = routersConfig(n);
const json = JSON.stringify(doc);
const yaml = stringify(doc);

function time(label: string, run: () => unknown): void {
  const ms: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    run();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  process.stdout.write(`${label.padEnd(28)} median ${ms[2]!.toFixed(1)} ms (min ${ms[0]!.toFixed(1)})\n`);
}

process.stdout.write(
  `${n} routers + services; modules loaded: heap +${(loaded.heapMB - before.heapMB).toFixed(1)} MB, rss +${(loaded.rssMB - before.rssMB).toFixed(1)} MB\n`,
);
time('decodeDynamicConfig (data)', () => mod.decodeDynamicConfig(structuredClone(doc), 'bench'));
time('parseDynamicText (JSON)', () => mod.parseDynamicText(json, 'bench', 'json'));
time('parseDynamicText (YAML)', () => mod.parseDynamicText(yaml, 'bench', 'yaml'));
