import { useCompileCache } from './compile-cache.ts';

/**
 * Entry point of a data-plane worker process. The worker's module graph loads after the compile
 * cache is on; messages the primary sends meanwhile are kept and handed over in order.
 */
useCompileCache();
const early: unknown[] = [];
const keep = (m: unknown): void => { early.push(m); };
process.on('message', keep);
const { startWorker } = await import('./workers/worker-process.ts');
process.off('message', keep);
startWorker(early);
