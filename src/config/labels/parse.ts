/**
 * Traefik labels → per-element configuration trees. Labels are case-insensitive paths into the
 * dynamic configuration (`traefik.http.routers.x.tls.domains[0].main`); element names and map keys
 * (header names) keep the user's case. Every problem becomes a diagnostic attached to the element it
 * concerns, so the caller can drop that element alone.
 */
import { diagError, diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import { setFlat, type FlatOptions } from '../schema/flat.ts';
import { entriesOf } from '../schema/introspect.ts';
import type { Schema } from '../schema/kit.ts';
import { DYNAMIC_WARNINGS } from '../warned.ts';
import { convertLabel, ELEMENT_SCHEMAS, TLS_DEFAULT_STORE } from './schema.ts';
import { didYouMean } from './suggest.ts';
import { hostileReason, parseBool } from './values.ts';

/** One router, service, middleware or transport decoded from labels. */
export interface ParsedElement {
  /** Canonical-key tree (still holding `loadBalancer.server` for services). */
  readonly value: Record<string, unknown>;
  /** Problems found; an element with any error is dropped. */
  readonly errors: Diagnostic[];
}

/** Sections of one protocol, keyed by element name. */
export interface ParsedProtocol {
  readonly routers: Map<string, ParsedElement>;
  readonly services: Map<string, ParsedElement>;
  readonly middlewares: Map<string, ParsedElement>;
  readonly serversTransports: Map<string, ParsedElement>;
}

/** Everything a container's `traefik.*` labels say. */
export interface ParsedLabels {
  readonly http: ParsedProtocol;
  readonly tcp: ParsedProtocol;
  readonly udp: ParsedProtocol;
  /** `traefik.enable` when present and valid. */
  enable?: boolean;
  /** `traefik.docker.network`. */
  network?: string;
  /** `traefik.docker.allownonrunning`. */
  allowNonRunning?: boolean;
  /** `traefik.tls.stores.default.*`, when given. */
  tlsDefaultStore?: Record<string, unknown>;
  /** Problems that concern the container rather than one element. */
  readonly diagnostics: Diagnostic[];
  /** True when a container-level label (`traefik.enable`, `traefik.docker.*`) was unusable. */
  containerError: boolean;
}

type Protocol = 'http' | 'tcp' | 'udp';
const PROTOCOLS: readonly Protocol[] = ['http', 'tcp', 'udp'];
const ROOTS = ['enable', 'http', 'tcp', 'udp', 'tls', 'docker'];
const SECTION_KEYS: Record<string, keyof ParsedProtocol> = {
  routers: 'routers',
  services: 'services',
  middlewares: 'middlewares',
  serverstransports: 'serversTransports',
};

function emptyProtocol(): ParsedProtocol {
  return { routers: new Map(), services: new Map(), middlewares: new Map(), serversTransports: new Map() };
}

/** Decodes the `traefik.*` labels of one container. Never throws. */
export function parseTraefikLabels(labels: Readonly<Record<string, string>>, source: string): ParsedLabels {
  const out: ParsedLabels = {
    http: emptyProtocol(),
    tcp: emptyProtocol(),
    udp: emptyProtocol(),
    diagnostics: [],
    containerError: false,
  };
  // Sorted so that decoding does not depend on the daemon's label order.
  for (const key of Object.keys(labels).sort()) {
    const value = labels[key] ?? '';
    const segs = key.split('.');
    if (segs[0]?.toLowerCase() !== 'traefik') continue;
    const element = `label ${key}`;
    const keyProblem = hostileReason(key);
    if (keyProblem !== undefined) {
      out.diagnostics.push(diagError(source, 'label (unprintable key)', `label key ${keyProblem}; ignored`));
      continue;
    }
    const root = (segs[1] ?? '').toLowerCase();
    const problem = hostileReason(value);
    if (root === 'enable' && segs.length === 2) {
      const b = problem === undefined ? parseBool(value) : undefined;
      if (b === undefined) {
        out.containerError = true;
        out.diagnostics.push(
          diagError(
            source,
            element,
            problem !== undefined
              ? `value ${problem}`
              : `invalid value "${value.slice(0, 60)}": expected true or false; the container is not exposed`,
          ),
        );
      } else {
        out.enable = b;
      }
      continue;
    }
    if (root === 'docker') {
      parseDockerLabel(out, segs.slice(2), value, problem, source, element);
      continue;
    }
    if (root === 'tls') {
      parseTlsLabel(out, segs.slice(2), value, problem, source, element);
      continue;
    }
    if (!PROTOCOLS.includes(root as Protocol)) {
      out.diagnostics.push(diagWarning(source, element, `unknown label, ignored${didYouMean(segs[1] ?? '', ROOTS)}`));
      continue;
    }
    const protocol = root as Protocol;
    const schemas = ELEMENT_SCHEMAS[protocol];
    const sectionSeg = (segs[2] ?? '').toLowerCase();
    const schema = schemas[sectionSeg];
    const sectionKey = SECTION_KEYS[sectionSeg];
    if (schema === undefined || sectionKey === undefined) {
      out.diagnostics.push(
        diagWarning(
          source,
          element,
          `unknown section "${segs[2] ?? ''}" for ${protocol}, label ignored${didYouMean(segs[2] ?? '', Object.keys(schemas))}`,
        ),
      );
      continue;
    }
    const name = segs[3] ?? '';
    if (name === '') {
      out.diagnostics.push(diagWarning(source, element, 'label names no element, ignored'));
      continue;
    }
    const sectionWarning = DYNAMIC_WARNINGS.key(`${protocol}.${sectionKey}`, value);
    if (sectionWarning !== undefined) {
      out.diagnostics.push(diagWarning(source, element, sectionWarning));
      continue;
    }
    const map = out[protocol][sectionKey];
    let parsed = map.get(name);
    if (parsed === undefined) {
      parsed = { value: {}, errors: [] };
      map.set(name, parsed);
    }
    if (problem !== undefined) {
      parsed.errors.push(
        diagError(source, element, `value ${problem}; ${sectionSeg.replace(/s$/, '')} "${name}" rejected`),
      );
      continue;
    }
    const rest = segs.slice(4);
    // Traefik's label parser creates the element whatever the value (`traefik.udp.routers.dns=true`
    // is a router with its defaults); a service made so has no load balancer and is refused later.
    if (rest.length === 0) continue;
    if (value.trim() === '' && UNSET_WHEN_EMPTY.test(rest.join('.'))) {
      // The load balancer still exists, with the field left at its zero value.
      parsed.value['loadBalancer'] ??= {};
      continue;
    }
    const typeSeg = (rest[0] ?? '').replace(/\[.*$/, '');
    const known = Object.keys(entriesOf(schema));
    if (sectionSeg === 'middlewares' && !known.some((k) => k.toLowerCase() === typeSeg.toLowerCase())) {
      parsed.errors.push(
        diagError(
          source,
          element,
          `unknown middleware type "${typeSeg}"${didYouMean(typeSeg, known)}; middleware "${name}" rejected`,
        ),
      );
      continue;
    }
    const r = setLabel(parsed.value, schema, rest, value, `${protocol}.${sectionKey}.*`);
    if (r === undefined) continue;
    if ('warning' in r) out.diagnostics.push(diagWarning(source, element, r.warning));
    else parsed.errors.push(diagError(source, element, r.error));
  }
  return out;
}

/**
 * Whether a container asks to be routed while it is not running (`traefik.docker.allownonrunning`,
 * Traefik v3.6+): its routers stay, its services have no servers (503), so a middleware can wake it.
 */
export function allowsNonRunning(labels: Readonly<Record<string, string>>): boolean {
  for (const [k, v] of Object.entries(labels)) {
    if (k.length === 30 && k.toLowerCase() === 'traefik.docker.allownonrunning') return parseBool(v) === true;
  }
  return false;
}

function parseDockerLabel(
  out: ParsedLabels,
  rest: string[],
  value: string,
  problem: string | undefined,
  source: string,
  element: string,
): void {
  const field = rest.join('.').toLowerCase();
  if (problem !== undefined) {
    out.containerError = true;
    out.diagnostics.push(diagError(source, element, `value ${problem}`));
    return;
  }
  if (field === 'network') {
    out.network = value;
  } else if (field === 'allownonrunning' || field === 'lbswarm') {
    const b = parseBool(value);
    if (b === undefined) {
      out.containerError = true;
      out.diagnostics.push(diagError(source, element, `invalid value "${value.slice(0, 60)}": expected true or false`));
    } else if (field === 'allownonrunning') {
      out.allowNonRunning = b;
    }
  } else {
    out.diagnostics.push(
      diagWarning(
        source,
        element,
        `unknown label, ignored${didYouMean(rest.join('.'), ['network', 'allowNonRunning'])}`,
      ),
    );
  }
}

function parseTlsLabel(
  out: ParsedLabels,
  rest: string[],
  value: string,
  problem: string | undefined,
  source: string,
  element: string,
): void {
  if (rest[0]?.toLowerCase() !== 'stores' || rest[1]?.toLowerCase() !== 'default' || rest.length < 3) {
    out.diagnostics.push(
      diagWarning(
        source,
        element,
        'ignored: labels can only configure the default TLS store (traefik.tls.stores.default.*); put TLS options and certificates in the file provider',
      ),
    );
    return;
  }
  if (problem !== undefined) {
    out.diagnostics.push(diagError(source, element, `value ${problem}; ignored`));
    return;
  }
  const store = out.tlsDefaultStore ?? {};
  const r =
    rest[2]?.toLowerCase() === 'defaultgeneratedcert'
      ? setLabel(store, TLS_DEFAULT_STORE, rest.slice(2), value, 'tls.stores.*')
      : {
          error: `unknown key "${rest[2] ?? ''}"${didYouMean(rest[2] ?? '', ['defaultGeneratedCert'])}; labels set only the default store's defaultGeneratedCert`,
        };
  if (r !== undefined && 'error' in r) out.diagnostics.push(diagError(source, element, `${r.error}; ignored`));
  else if (r !== undefined) out.diagnostics.push(diagWarning(source, element, r.warning));
  else out.tlsDefaultStore = store;
}

const LABELS: FlatOptions = { convert: convertLabel, warnings: DYNAMIC_WARNINGS };

/**
 * Server fields Traefik reads as strings, where an empty label is the zero value: the port then comes
 * from the container, the scheme is http, and no URL is given.
 */
const UNSET_WHEN_EMPTY = /^loadbalancer\.server\.(?:port|scheme|url)$/i;

/** Sets one label's value into `target` following the declaration; problems come back, never thrown. */
export function setLabel(
  target: Record<string, unknown>,
  schema: Schema,
  segs: readonly string[],
  value: string,
  spath: string,
): ReturnType<typeof setFlat> {
  return setFlat(target, schema, segs, value, spath, LABELS);
}
