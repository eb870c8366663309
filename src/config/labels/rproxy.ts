/**
 * RProxy compatibility (seed 001): `RPROXY=http://host[:port][/path],tcp://name:port,…` in a
 * container's environment. HTTP configs route by host suffix (the host and its subdomains), an
 * optional path prefix, on that port; TCP configs route by port alone. The port is both the
 * container's and the public one (default 80 for HTTP, 4 for TCP). Containers with equal configs
 * share one service, so they are load-balanced. A port other than 80 and 443 is named `:PORT`: the
 * entrypoint listening there serves it, or one is opened while such a container runs.
 */
import { diagError, type Diagnostic } from '../../lib/diagnostics.ts';
import { containerAddress, joinHostPort } from './address.ts';
import type { Element } from './element.ts';
import { normalizeName } from './template.ts';
import type { ContainerView, LabelDecodeOptions } from './types.ts';
import { hostileReason } from './values.ts';

/** One parsed RPROXY entry. */
export interface RproxyEntry {
  readonly scheme: 'http' | 'tcp';
  readonly host: string;
  readonly port: number;
  /** Path prefix (HTTP only), without trailing slash; empty for none. */
  readonly path: string;
}

const ENTRY = /^(http|tcp):\/\/([A-Za-z0-9.-]+)(?::(\d{1,5}))?(\/[^\s?#]*)?$/i;

/**
 * Most entries one RPROXY variable may have: each port it names can become a listening socket, and
 * a hostile or broken variable (up to 64 KiB) must not open thousands of them.
 */
export const MAX_RPROXY_ENTRIES = 32;

/** Parses the RPROXY variable; bad entries become messages. */
export function parseRproxy(value: string): { entries: RproxyEntry[]; errors: string[] } {
  const entries: RproxyEntry[] = [];
  const errors: string[] = [];
  const raws = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (raws.length > MAX_RPROXY_ENTRIES)
    errors.push(`${raws.length} entries: only the first ${MAX_RPROXY_ENTRIES} are used`);
  for (const raw of raws.slice(0, MAX_RPROXY_ENTRIES)) {
    const m = ENTRY.exec(raw);
    if (!m) {
      errors.push(`invalid RPROXY entry "${raw.slice(0, 80)}": expected http://host[:port][/path] or tcp://name:port`);
      continue;
    }
    const scheme = (m[1] ?? '').toLowerCase() as 'http' | 'tcp';
    const port = m[3] !== undefined ? Number(m[3]) : scheme === 'http' ? 80 : 4;
    if (port < 1 || port > 65535) {
      errors.push(`invalid RPROXY entry "${raw.slice(0, 80)}": port out of range`);
      continue;
    }
    const path = scheme === 'http' ? (m[4] ?? '').replace(/\/+$/, '') : '';
    entries.push({ scheme, host: (m[2] ?? '').toLowerCase().replace(/\.$/, ''), port, path });
  }
  return { entries, errors };
}

/**
 * The entrypoint an RProxy port maps to: for HTTP, `web` for 80 and `websecure` for 443 (wherever
 * they listen); otherwise `:PORT`, the entrypoint on that port, opened on demand when there is none.
 */
export function rproxyEntryPoint(scheme: 'http' | 'tcp', port: number): string {
  if (scheme === 'http' && port === 80) return 'web';
  if (scheme === 'http' && port === 443) return 'websecure';
  return `:${port}`;
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Builds the RProxy routes of one container (empty when it has no RPROXY variable). */
export function buildRproxy(
  c: ContainerView,
  opts: LabelDecodeOptions,
  source: string,
): { elements: Element[]; diagnostics: Diagnostic[] } {
  const diagnostics: Diagnostic[] = [];
  const env = c.env.find((e) => e.startsWith('RPROXY='));
  if (env === undefined) return { elements: [], diagnostics };
  const value = env.slice('RPROXY='.length);
  const problem = hostileReason(value);
  if (problem !== undefined) {
    diagnostics.push(diagError(source, 'env RPROXY', `value ${problem}; ignored`));
    return { elements: [], diagnostics };
  }
  if (!c.running || !(c.health === 'none' || c.health === 'healthy')) return { elements: [], diagnostics };
  const { entries, errors } = parseRproxy(value);
  for (const e of errors) diagnostics.push(diagError(source, 'env RPROXY', e));
  if (entries.length === 0) return { elements: [], diagnostics };
  const ip = containerAddress(c, opts.network, opts.ownNetworks?.[c.daemon]);
  if (ip === undefined) {
    diagnostics.push(diagError(source, 'env RPROXY', 'unable to find the IP address of the container; RPROXY ignored'));
    return { elements: [], diagnostics };
  }
  const elements: Element[] = [];
  for (const e of entries) {
    if (e.scheme === 'tcp') {
      const name = `rproxy-tcp-${e.port}`;
      elements.push({
        section: 'tcp.routers',
        name,
        value: { entryPoints: [rproxyEntryPoint('tcp', e.port)], rule: 'HostSNI(`*`)', service: name },
      });
      elements.push({
        section: 'tcp.services',
        name,
        value: { loadBalancer: { servers: [{ address: joinHostPort(ip, e.port) }] } },
      });
      continue;
    }
    const name = `rproxy-${normalizeName(e.host)}-${e.port}${e.path ? `-${normalizeName(e.path)}` : ''}`;
    let rule = `Host(\`${e.host}\`) || HostRegexp(\`^.+\\.${escapeRegex(e.host)}$\`)`;
    if (e.path) rule = `(${rule}) && PathPrefix(\`${e.path}\`)`;
    elements.push({
      section: 'http.routers',
      name,
      value: { entryPoints: [rproxyEntryPoint('http', e.port)], rule, service: name },
    });
    elements.push({
      section: 'http.services',
      name,
      value: { loadBalancer: { servers: [{ url: `http://${joinHostPort(ip, e.port)}` }], passHostHeader: true } },
    });
  }
  return { elements, diagnostics };
}
