/**
 * Golden fixtures for the label decoder: test/fixtures/labels/<case>/containers.json holds
 * `{ desc, opts?, containers }` (containers may omit fields that have an obvious default) and
 * expected.json holds the decoder's `{ config, diagnostics, repositories }`.
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

/** One golden case. */
export interface GoldenCase {
  readonly name: string;
  readonly desc: string;
  readonly dir: string;
  readonly opts: LabelDecodeOptions;
  readonly containers: ContainerView[];
}

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
        containers: (Partial<ContainerView> & { name: string })[];
      };
      return { name, desc: raw.desc, dir, opts: options(raw.opts), containers: raw.containers.map(container) };
    });
}
