/**
 * When certificates are renewed, from Traefik's `certificatesDuration` (hours, default 2160 = 90
 * days): Traefik's table of renew period (how long before expiry renewal starts) and renew
 * interval (how often certificates are checked).
 */

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** Traefik's renew period and check interval for certificates of `hours` duration. */
export function renewDurations(hours: number): { periodMs: number; intervalMs: number } {
  if (hours >= 365 * 24) return { periodMs: 4 * 30 * DAY, intervalMs: 7 * DAY };
  if (hours >= 3 * 30 * 24) return { periodMs: 30 * DAY, intervalMs: DAY };
  if (hours >= 30 * 24) return { periodMs: 10 * DAY, intervalMs: 12 * HOUR };
  if (hours >= 6 * 24) return { periodMs: 2 * DAY, intervalMs: 2 * HOUR };
  if (hours >= 24) return { periodMs: 6 * HOUR, intervalMs: 10 * 60_000 };
  return { periodMs: 20 * 60_000, intervalMs: 60_000 };
}

/**
 * How long before `notAfter` a certificate is renewed: the configured duration's renew period,
 * but never more than a third of the certificate's real lifetime. Traefik takes the period from
 * the configuration alone, so a CA that issues shorter certificates than configured (a 6-day
 * profile under the default 2160) would have it renew on every check; the cap keeps the
 * configured behaviour for certificates as long as configured and stops such a loop.
 */
export function renewBefore(cert: { notBefore: number; notAfter: number }, certificatesDurationHours = 2160): number {
  return Math.min(renewDurations(certificatesDurationHours).periodMs, (cert.notAfter - cert.notBefore) / 3);
}

/** Whether a certificate is due for renewal at `now`. */
export function dueForRenewal(
  cert: { notBefore: number; notAfter: number },
  now: number,
  certificatesDurationHours = 2160,
): boolean {
  return now >= cert.notAfter - renewBefore(cert, certificatesDurationHours);
}
