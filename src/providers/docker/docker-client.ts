import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import type { DockerProviderConfig } from '../../config/static/types.ts';
import { errorMessage } from '../../lib/errors.ts';
import type { InspectLike } from './container-view.ts';

/** The few Docker API calls the provider makes; a seam so tests can use a fake daemon. */
export interface DockerClient {
  /** Opens `GET /events` (container events only); the stream yields newline-separated JSON. */
  events(signal: AbortSignal): Promise<NodeJS.ReadableStream>;
  /** Every container, stopped ones too (`GET /containers/json?all=1`): a stopped owner keeps its claims. */
  list(signal: AbortSignal): Promise<readonly { readonly Id: string; readonly Created?: number }[]>;
  /** `GET /containers/{id}/json`; rejects with `statusCode: 404` for a container that is gone. */
  inspect(id: string, signal: AbortSignal): Promise<InspectLike>;
}

/** TLS material for `tcp://` endpoints, already read from disk. */
export interface DockerTlsMaterial {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly insecureSkipVerify?: boolean;
}

/** Reads the `providers.docker.tls` files once, or says why they cannot be read. */
export function readTlsMaterial(
  t: NonNullable<DockerProviderConfig['tls']>,
): { tls: DockerTlsMaterial } | { error: string } {
  try {
    return {
      tls: {
        ...(t.ca ? { ca: readFileSync(t.ca) } : {}),
        ...(t.cert ? { cert: readFileSync(t.cert) } : {}),
        ...(t.key ? { key: readFileSync(t.key) } : {}),
        ...(t.insecureSkipVerify ? { insecureSkipVerify: true } : {}),
      },
    };
  } catch (err) {
    return { error: `cannot read providers.docker.tls files: ${errorMessage(err)}` };
  }
}

/** Where to reach one daemon. */
export type DockerTarget =
  | { readonly socketPath: string }
  | { readonly host: string; readonly port: number; readonly tls?: DockerTlsMaterial };

/** A {@link DockerClient} over dockerode. */
export function createDockerClient(target: DockerTarget): DockerClient {
  // `agent` is honoured by docker-modem but missing from @types/dockerode.
  let opts: Docker.DockerOptions & { agent?: Agent };
  if ('socketPath' in target) opts = { socketPath: target.socketPath };
  else if (target.tls) {
    const t = target.tls;
    const tlsOpts = {
      ...(t.ca ? { ca: t.ca } : {}),
      ...(t.cert ? { cert: t.cert } : {}),
      ...(t.key ? { key: t.key } : {}),
    };
    opts = { host: target.host, port: target.port, protocol: 'https', ...tlsOpts };
    if (t.insecureSkipVerify) opts.agent = new Agent({ ...tlsOpts, rejectUnauthorized: false, keepAlive: true });
  } else opts = { host: target.host, port: target.port, protocol: 'http' };
  const docker = new Docker(opts);
  return {
    events: (signal) =>
      docker.getEvents({
        filters: { type: ['container'] },
        abortSignal: signal,
      } as Docker.GetEventsOptions) as Promise<NodeJS.ReadableStream>,
    list: (signal) => docker.listContainers({ all: true, abortSignal: signal } as Docker.ContainerListOptions),
    inspect: (id, signal) =>
      docker
        .getContainer(id)
        .inspect({ abortSignal: signal } as Docker.ContainerInspectOptions) as Promise<InspectLike>,
  };
}
