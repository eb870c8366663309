import type { DynamicConfig } from '../dynamic/types.ts';
import type { Diagnostic } from '../../lib/diagnostics.ts';
import type { ClaimOutcome } from './claim-outcome.ts';

/**
 * A container as the label decoder sees it: what the Docker provider gathers from `inspect`,
 * independent of dockerode, so decoding is pure and testable from fixtures.
 */
export interface ContainerView {
  readonly id: string;
  /** Container name without the leading slash. */
  readonly name: string;
  /** The daemon (repository) it runs on, e.g. `docker-2816` (from the socket name). */
  readonly daemon: string;
  readonly labels: Readonly<Record<string, string>>;
  /** `KEY=value` entries of the container's environment (for `RPROXY`). */
  readonly env: readonly string[];
  /** False for a container that exists but does not serve (stopped, paused, restarting, created). */
  readonly running: boolean;
  /** Creation time as Docker reports it (RFC 3339, nanoseconds): the claim order across daemons. */
  readonly created?: string;
  /** When it last stopped (Docker's `State.FinishedAt`), for a container that is not running. */
  readonly finished?: string;
  /** Docker healthcheck state; 'none' when the image has no healthcheck. */
  readonly health: 'none' | 'starting' | 'healthy' | 'unhealthy';
  /** Network name → IP address on it. */
  readonly networks: Readonly<Record<string, string>>;
  /** `host`, `bridge`, `container:<id>`, a network name… */
  readonly networkMode: string;
  /** Exposed container ports (from the image and `--expose`) and their host bindings. */
  readonly ports: readonly {
    readonly port: number;
    readonly protocol: 'tcp' | 'udp';
    readonly hostIp?: string;
    readonly hostPort?: number;
  }[];
  /** Compose project/service, when started by compose (labels com.docker.compose.*). */
  readonly composeProject?: string;
  readonly composeService?: string;
  /**
   * The container whose network stack this one shares (`network_mode: container:<ref>`), when it is
   * among the containers decoded with it; its address is this container's address, as in Traefik.
   */
  readonly sharesNetworkOf?: ContainerView;
  /**
   * How diagnostics name this container; defaults to `container "<name>" on daemon <daemon>`.
   * Synthetic containers (compose lint) use it to point at the file instead.
   */
  readonly source?: string;
}

/** The host's identity and the Docker provider's options that decoding depends on. */
export interface LabelDecodeOptions {
  readonly exposedByDefault: boolean;
  /** Go-template default rule, e.g. "Host(`{{ normalize .Name }}`)". */
  readonly defaultRule: string;
  readonly network?: string;
  readonly constraints?: string;
  readonly useBindPortIP?: boolean;
  readonly allowEmptyServices?: boolean;
  /**
   * Networks berth's own container is attached to, by daemon (network names are per daemon), for
   * address choice; empty outside Docker.
   */
  readonly ownNetworks?: Readonly<Record<string, readonly string[]>>;
  readonly edge: {
    readonly autoRoutes: boolean;
    readonly machineName?: string;
    readonly baseDomain?: string;
    readonly certResolver?: string;
  };
}

/** Who stands behind a router that gets a port from `edge.dynamicPorts` (for `/ports`). */
export interface PortOwner {
  /** The router's name in the provider (`mail-marketing-tcp-25`). */
  readonly router: string;
  readonly protocol: 'tcp' | 'udp';
  readonly daemon: string;
  /** `rediacc.repo_name` (the parent's for forks), when labelled. */
  readonly repository?: string;
  /** `rediacc.service_name`, when labelled. */
  readonly service?: string;
  /** The containers that define it (replicas), in claim order. */
  readonly containers: readonly string[];
}

/** What decoding all containers of all daemons yields. */
export interface DecodeResult {
  readonly config: DynamicConfig;
  readonly diagnostics: readonly Diagnostic[];
  /** Repositories (daemon → repo name) with at least one running container, for DNS automation. */
  readonly repositories: readonly string[];
  /** Who got and who was refused each contested key (absent from decoders that do not merge). */
  readonly claims?: ClaimOutcome;
  /** Who stands behind each served router on `tcp-dynamic` / `udp-dynamic`. */
  readonly ports?: readonly PortOwner[];
}
