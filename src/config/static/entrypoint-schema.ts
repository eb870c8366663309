/**
 * Traefik v3.7's `entryPoints.<name>`, key for key, with Traefik's defaults. The same declaration
 * decodes entrypoints the user writes and those berth generates from `edge`.
 */
import { buildIpMatcher } from '../../lib/ip.ts';
import { bool, dur, fill, free, int, list, obj, oneOf, req, str, toggle } from '../schema/kit.ts';

/** A CIDR range or an IP address; the problem otherwise. */
export const ipRange = (v: string): string | undefined =>
  buildIpMatcher([v]).invalid.length > 0 ? `"${v}" is not an IP address or CIDR range` : undefined;

/** Certificate domains requested for routers on an entrypoint or a router. */
export const domains = list(obj({ main: req(str()), sans: list(str()) }));

/** One entrypoint. */
export const entryPointSchema = obj({
  address: req(str()),
  asDefault: bool(),
  allowACMEByPass: bool(),
  reusePort: bool(),
  http: fill(
    obj({
      redirections: obj({
        entryPoint: obj({
          to: req(str()),
          scheme: fill(str(), 'https'),
          permanent: fill(bool(), true),
          priority: int({ min: 1 }),
        }),
      }),
      middlewares: list(str()),
      tls: toggle({ options: str(), certResolver: str(), domains }),
      sanitizePath: fill(bool(), true),
      encodedCharacters: obj({
        allowEncodedSlash: bool(),
        allowEncodedBackSlash: bool(),
        allowEncodedNullCharacter: bool(),
        allowEncodedSemicolon: bool(),
        allowEncodedPercent: bool(),
        allowEncodedQuestionMark: bool(),
        allowEncodedHash: bool(),
      }),
      encodeQuerySemicolons: bool(),
      maxHeaderBytes: int({ min: 1 }),
    }),
    {},
  ),
  http2: obj({
    maxConcurrentStreams: int({ min: 1 }),
    maxDecoderHeaderTableSize: int({ min: 0 }),
    maxEncoderHeaderTableSize: int({ min: 0 }),
  }),
  http3: free(),
  forwardedHeaders: obj({
    trustedIPs: list(str({ check: ipRange })),
    insecure: bool(),
    connection: list(str()),
    notAppendXForwardedFor: bool(),
  }),
  proxyProtocol: obj({ trustedIPs: list(str({ check: ipRange })), insecure: bool() }),
  transport: fill(
    obj({
      respondingTimeouts: fill(
        obj({ readTimeout: fill(dur(), '60s'), writeTimeout: fill(dur(), '0s'), idleTimeout: fill(dur(), '180s') }),
        {},
      ),
      lifeCycle: fill(obj({ requestAcceptGraceTimeout: fill(dur(), '0s'), graceTimeOut: fill(dur(), '10s') }), {}),
      keepAliveMaxRequests: int({ min: 0 }),
      keepAliveMaxTime: dur(),
    }),
    {},
  ),
  udp: fill(obj({ timeout: fill(dur(), '3s') }), {}),
  observability: obj({
    accessLogs: bool(),
    metrics: bool(),
    tracing: bool(),
    traceVerbosity: oneOf(['minimal', 'detailed']),
  }),
});
