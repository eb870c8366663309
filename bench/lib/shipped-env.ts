import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The environment berth runs with as shipped (docker/berth.service and docker/Dockerfile set the
 * same): two malloc arenas for the process, and Node's compile cache on disk, warm after the
 * first start as on any restart. The bench measures berth the way it is deployed.
 */
export const SHIPPED_ENV: Readonly<Record<string, string>> = {
  MALLOC_ARENA_MAX: '2',
  NODE_COMPILE_CACHE: join(tmpdir(), 'berth-bench-compile-cache'),
};
