/**
 * `berth check --labels compose.yaml`: lints the labels of a compose file by building one synthetic
 * container per service (labels, environment, network_mode, ports, expose, networks) and decoding
 * them exactly as the Docker provider would. Backends are addressed by the compose service name,
 * which is what Docker's DNS resolves on the project's networks.
 */
import { basename, dirname, resolve } from 'node:path';
import { parseDocument } from 'yaml';
import { diagError, type Diagnostic } from '../../lib/diagnostics.ts';
import { errorMessage } from '../../lib/errors.ts';
import { decodeContainers } from './decode.ts';
import type { ContainerView, DecodeResult, LabelDecodeOptions } from './types.ts';

type Port = ContainerView['ports'][number];

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function scalarString(v: unknown): string {
  return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v);
}

/** Compose `labels` / `environment`: a map, or a list of `KEY=value`. */
function keyValues(v: unknown, listSep: '=', keepBare: boolean): Record<string, string> {
  const out: Record<string, string> = {};
  if (Array.isArray(v)) {
    for (const item of v) {
      const s = scalarString(item);
      const i = s.indexOf(listSep);
      if (i >= 0) out[s.slice(0, i)] = s.slice(i + 1);
      else if (keepBare && s !== '') out[s] = '';
    }
  } else if (isRecord(v)) {
    for (const [k, val] of Object.entries(v)) out[k] = scalarString(val);
  }
  return out;
}

/** Compose project name rules: lower-case, only `a-z0-9_-`. */
function projectName(raw: string): string {
  return raw.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

const MAX_RANGE = 256;

function portRange(spec: string): number[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(spec.trim());
  if (!m) return [];
  const a = Number(m[1]);
  const b = m[2] === undefined ? a : Number(m[2]);
  if (b < a || b - a > MAX_RANGE) return [];
  return Array.from({ length: b - a + 1 }, (_, i) => a + i);
}

/** Compose `ports` (short or long syntax) and `expose` → exposed container ports. */
function composePorts(ports: unknown, expose: unknown, problems: string[]): Port[] {
  const out: Port[] = [];
  for (const p of Array.isArray(ports) ? ports : []) {
    if (isRecord(p)) {
      const target = Number(p['target']);
      if (!Number.isInteger(target) || target < 1 || target > 65535) {
        problems.push(`ports: invalid target ${scalarString(p['target'])}`);
        continue;
      }
      const protocol = p['protocol'] === 'udp' ? 'udp' : 'tcp';
      const published = Number(p['published']);
      const entry: { port: number; protocol: 'tcp' | 'udp'; hostIp?: string; hostPort?: number } = {
        port: target,
        protocol,
      };
      if (typeof p['host_ip'] === 'string') entry.hostIp = p['host_ip'];
      if (Number.isInteger(published) && published > 0) entry.hostPort = published;
      out.push(entry);
      continue;
    }
    const s = scalarString(p);
    const [spec = '', proto = 'tcp'] = s.split('/');
    // host_ip:published:target, published:target or target; an IPv6 host IP is bracketed.
    const m = /^(?:(\[[^\]]+\]|[^:]*):)?(?:([\d-]*):)?([\d-]+)$/.exec(spec);
    const targets = m ? portRange(m[3] ?? '') : [];
    if (!m || targets.length === 0) {
      problems.push(`ports: invalid entry "${s}"`);
      continue;
    }
    let hostIp: string | undefined;
    let published: string | undefined;
    if (m[2] !== undefined) {
      hostIp = m[1];
      published = m[2];
    } else {
      published = m[1];
    }
    const pubs = published ? portRange(published) : [];
    targets.forEach((port, i) => {
      const entry: { port: number; protocol: 'tcp' | 'udp'; hostIp?: string; hostPort?: number } = {
        port,
        protocol: proto === 'udp' ? 'udp' : 'tcp',
      };
      if (hostIp) entry.hostIp = hostIp.replace(/^\[|\]$/g, '');
      const hp = pubs[i];
      if (hp !== undefined) entry.hostPort = hp;
      out.push(entry);
    });
  }
  for (const e of Array.isArray(expose) ? expose : []) {
    const [spec = '', proto = 'tcp'] = scalarString(e).split('/');
    const ports = portRange(spec);
    if (ports.length === 0) {
      problems.push(`expose: invalid entry "${scalarString(e)}"`);
      continue;
    }
    for (const port of ports) out.push({ port, protocol: proto === 'udp' ? 'udp' : 'tcp' });
  }
  return out;
}

/**
 * Parses a compose file and decodes its services' labels with `opts`. YAML errors and malformed
 * service definitions become diagnostics; it never throws.
 */
export function lintCompose(yamlText: string, source: string, opts: LabelDecodeOptions): DecodeResult {
  const diagnostics: Diagnostic[] = [];
  const empty = (): DecodeResult => ({ config: {}, diagnostics, repositories: [] });
  let doc: unknown;
  try {
    const parsed = parseDocument(yamlText, { merge: true, prettyErrors: true, uniqueKeys: false });
    for (const e of parsed.errors)
      diagnostics.push(
        diagError(
          source,
          e.linePos ? `line ${e.linePos[0].line}` : undefined,
          `YAML: ${e.message.split('\n')[0] ?? e.message}`,
        ),
      );
    if (parsed.errors.length > 0) return empty();
    doc = parsed.toJS({ maxAliasCount: 1000 });
  } catch (err) {
    diagnostics.push(diagError(source, undefined, `YAML: ${errorMessage(err)}`));
    return empty();
  }
  if (!isRecord(doc) || !isRecord(doc['services'])) {
    diagnostics.push(diagError(source, 'services', 'not a compose file: expected a top-level "services" map'));
    return empty();
  }
  const project = projectName(typeof doc['name'] === 'string' ? doc['name'] : basename(dirname(resolve(source))));
  const containers: ContainerView[] = [];
  for (const [service, def] of Object.entries(doc['services'])) {
    const svcSource = `service "${service}" in ${source}`;
    if (!isRecord(def)) {
      diagnostics.push(diagError(svcSource, undefined, 'service definition is not a map'));
      continue;
    }
    const problems: string[] = [];
    const labels = keyValues(def['labels'], '=', true);
    const env = Object.entries(keyValues(def['environment'], '=', false)).map(([k, v]) => `${k}=${v}`);
    const networkMode = typeof def['network_mode'] === 'string' ? def['network_mode'] : 'bridge';
    const networks: Record<string, string> = {};
    if (networkMode !== 'host' && networkMode !== 'none') {
      const nets = Array.isArray(def['networks'])
        ? def['networks'].map(scalarString)
        : isRecord(def['networks'])
          ? Object.keys(def['networks'])
          : ['default'];
      for (const n of nets) networks[`${project}_${n}`] = service;
    }
    const ports = composePorts(def['ports'], def['expose'], problems);
    for (const p of problems) diagnostics.push(diagError(svcSource, undefined, p));
    const name = typeof def['container_name'] === 'string' ? def['container_name'] : `${project}-${service}-1`;
    containers.push({
      id: `compose-${project}-${service}`,
      name,
      daemon: 'compose',
      labels: { ...labels, 'com.docker.compose.project': project, 'com.docker.compose.service': service },
      env,
      running: true,
      health: 'none',
      networks,
      networkMode,
      ports,
      composeProject: project,
      composeService: service,
      source: svcSource,
    });
  }
  const result = decodeContainers(containers, opts);
  return {
    config: result.config,
    diagnostics: [...diagnostics, ...result.diagnostics],
    repositories: result.repositories,
  };
}
