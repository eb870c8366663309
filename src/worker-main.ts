import { useCompileCache } from './compile-cache.ts';

/**
 * Entry point of a data-plane worker thread. Its module graph (data-plane modules only) loads
 * after the compile cache is on; messages the control plane sends meanwhile wait in the port.
 */
useCompileCache();
const { startWorker } = await import('./workers/worker-thread.ts');
startWorker();
