import { enableCompileCache } from 'node:module';

/**
 * Turns on Node's on-disk compile cache (code and stripped TypeScript) for the modules loaded
 * after this call: a warm start skips type stripping and compilation, which saves ~30 MB of RSS
 * per process (the type stripper's memory) and start-up time, for the primary and every worker.
 * The directory is `NODE_COMPILE_CACHE` when set (the systemd unit and the image set one), else
 * Node's default under the temp directory. A cache that cannot be written is skipped silently.
 */
export function useCompileCache(): void {
  try {
    enableCompileCache();
  } catch {
    /* an unusable cache directory only costs start-up time */
  }
}
