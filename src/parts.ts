import type { StaticConfig } from './config/static/types.ts';
import type { Logger } from './lib/logger.ts';
import type { BerthParts } from './app.ts';
import type { Provider } from './providers/provider.ts';
import { FileProvider } from './providers/file/file-provider.ts';

/** The standard set of providers, middlewares and L4 builders for a static configuration. */
export function defaultParts(config: StaticConfig, log: Logger): BerthParts {
  const providers: Provider[] = [];
  const child = (provider: string): Logger => log.child({ component: 'provider', provider });
  if (config.providers.file) providers.push(new FileProvider(config.providers.file, { logger: child('file') }));
  return { providers };
}
