/**
 * Golden fixtures for the label decoder: test/fixtures/labels/<case>/containers.json holds
 * `{ desc, opts?, containers }` (containers may omit fields that have an obvious default) and
 * expected.json holds the decoder's `{ config, diagnostics, repositories }`. A table fixture holds
 * `{ desc, opts?, table: [{ desc, opts?, containers }] }` instead — cases decoded one by one, as
 * Traefik's own test tables are — and its expected.json maps each case's desc to its result.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerView, LabelDecodeOptions } from '../../../src/config/labels/types.ts';

export const FIXTURES_DIR = join(import.meta.dirname, '..', '..', 'fixtures', 'labels');

/** Options most cases share; a fixture's `opts` is merged over it. */
export const BASE_OPTS: LabelDecodeOptions = {
  exposedByDefault: false,
  defaultRule: 'Host(`{{ normalize .Name }}`)',
  edge: { autoRoutes: true, machineName: 'server-1', baseDomain: 'example.com' },
};

/** A container with defaults for everything the test does not care about. */
export function container(partial: Partial<ContainerView> & { name: string }): ContainerView {
  return {
    id: `id-${partial.name}`,
    daemon: 'docker-1',
    labels: {},
    env: [],
    running: true,
    health: 'none',
    networks: { bridge: '172.17.0.2' },
    networkMode: 'bridge',
    ports: [],
    ...partial,
  };
}

/** Merges partial options over the base; a given `edge` replaces the base's whole. */
export function options(partial: Partial<LabelDecodeOptions> = {}): LabelDecodeOptions {
  return { ...BASE_OPTS, ...partial };
}

/** One golden case; a table fixture has its rows in `table`, each with its own options and containers. */
export interface GoldenCase {
  readonly name: string;
  readonly desc: string;
  readonly dir: string;
  readonly opts: LabelDecodeOptions;
  readonly containers: ContainerView[];
  readonly table?: readonly {
    readonly desc: string;
    readonly opts: LabelDecodeOptions;
    readonly containers: ContainerView[];
  }[];
}

type RawContainers = (Partial<ContainerView> & { name: string })[];

/** Every case directory, sorted. */
export function loadCases(): GoldenCase[] {
  return readdirSync(FIXTURES_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort()
    .map((name) => {
      const dir = join(FIXTURES_DIR, name);
      const raw = JSON.parse(readFileSync(join(dir, 'containers.json'), 'utf8')) as {
        desc: string;
        opts?: Partial<LabelDecodeOptions>;
        containers?: RawContainers;
        table?: { desc: string; opts?: Partial<LabelDecodeOptions>; containers: RawContainers }[];
      };
      const opts = options(raw.opts);
      const table = raw.table?.map((row) => ({
        desc: row.desc,
        opts: { ...opts, ...row.opts },
        containers: row.containers.map(container),
      }));
      return {
        name,
        desc: raw.desc,
        dir,
        opts,
        containers: (raw.containers ?? []).map(container),
        ...(table ? { table } : {}),
      };
    });
}
