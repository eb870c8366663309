/**
 * Traefik v3.7's `api`, `log`, `accessLog`, `metrics`, `ping`, `serversTransport` and `global`, key
 * for key, with Traefik's defaults (and berth's `api.listen`, `metrics.prometheus.prefix`).
 */
import { bool, dflt, dur, fill, free, int, list, num, obj, oneOf, rec, str, toggle } from '../schema/kit.ts';

/** `api`: berth's API always listens on `listen`; the section only tunes it. */
export const apiSchema = toggle({
  listen: dflt(str(), '127.0.0.1:7111'),
  dashboard: dflt(bool(), true),
  insecure: fill(bool(), false),
  debug: fill(bool(), false),
  basePath: fill(str(), '/'),
  dashboardName: str(),
  disableDashboardAd: bool(),
});

const statusRange = (v: string): string | undefined =>
  /^\d{3}(-\d{3})?$/.test(v.trim()) ? undefined : `"${v}" is not a status code or range such as 500-599`;
const fieldMode = oneOf(['keep', 'drop', 'redact']);

/** `log`. Traefik's upper-case level names and PANIC are accepted. */
export const logSchema = obj({
  level: dflt(
    oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal'], { warning: 'warn', panic: 'fatal' }),
    'error',
  ),
  format: oneOf(['json', 'common']),
  filePath: str(),
  noColor: bool(),
  maxSize: free(),
  maxBackups: free(),
  maxAge: free(),
  compress: free(),
  otlp: free(),
});

/** `accessLog`: present when enabled. */
export const accessLogSchema = toggle({
  filePath: str(),
  format: fill(oneOf(['json', 'common', 'genericCLF']), 'common'),
  bufferingSize: int({ min: 0 }),
  filters: obj({
    statusCodes: list(str({ fromNumber: true, check: statusRange })),
    retryAttempts: bool(),
    minDuration: dur(),
  }),
  fields: obj({
    defaultMode: fieldMode,
    names: rec(fieldMode),
    headers: obj({ defaultMode: fieldMode, names: rec(fieldMode) }),
  }),
  addInternals: bool(),
  dualOutput: free(),
  otlp: free(),
});

/** `metrics`: Prometheus; the other exporters are accepted and not started. */
export const metricsSchema = obj({
  addInternals: bool(),
  prometheus: toggle({
    buckets: fill(list(num({ min: 0 })), [0.1, 0.3, 1.2, 5]),
    addEntryPointsLabels: fill(bool(), true),
    addRoutersLabels: fill(bool(), false),
    addServicesLabels: fill(bool(), true),
    entryPoint: fill(str(), 'traefik'),
    manualRouting: fill(bool(), false),
    headerLabels: rec(str()),
    prefix: fill(str(), 'traefik'),
  }),
  datadog: free(),
  statsD: free(),
  influxDB2: free(),
  otlp: free(),
});

/** `ping`: present when enabled. */
export const pingSchema = toggle({
  entryPoint: fill(str(), 'traefik'),
  manualRouting: fill(bool(), false),
  terminatingStatusCode: fill(int({ min: 100, max: 599 }), 503),
});

/** `serversTransport`: defaults of every HTTP servers transport. */
export const staticServersTransportSchema = obj({
  insecureSkipVerify: fill(bool(), false),
  rootCAs: list(str()),
  maxIdleConnsPerHost: fill(int(), 200),
  forwardingTimeouts: fill(
    obj({
      dialTimeout: fill(dur(), '30s'),
      responseHeaderTimeout: fill(dur(), '0s'),
      idleConnTimeout: fill(dur(), '90s'),
      readIdleTimeout: dur(),
      pingTimeout: dur(),
    }),
    {},
  ),
  spiffe: free(),
});

/** `global`. */
export const globalSchema = obj({
  checkNewVersion: bool(),
  sendAnonymousUsage: bool(),
  notAppendXForwardedFor: bool(),
});
