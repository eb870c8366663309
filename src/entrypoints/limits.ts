import type { StaticConfig } from '../config/static/types.ts';
import { durationOr } from '../lib/duration.ts';
import type { EntrypointLimits } from './tcp-entrypoint.ts';

/** The per-entrypoint limits of the static `limits` section, in the form the listeners use. */
export function entrypointLimits(config: StaticConfig): EntrypointLimits {
  const l = config.limits;
  return {
    maxHeaderBytes: l.maxHeaderBytes,
    maxHeaderCount: l.maxHeaderCount,
    handshakeTimeoutMs: durationOr(l.handshakeTimeout, 10_000),
    http2MaxConcurrentStreams: l.http2MaxConcurrentStreams,
    peekTimeoutMs: durationOr(l.clientHelloTimeout, 10_000),
    maxHelloBytes: l.maxClientHelloBytes,
    headersTimeoutMs: durationOr(l.headersTimeout, 30_000),
    maxConnections: l.maxConnectionsPerEntrypoint,
  };
}
