/** The compiled UDP routing of one UDP entrypoint (`RoutingSnapshot.udp`). */

/** One upstream UDP server. */
export interface UdpServerTarget {
  /** `host:port` as configured. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
}

/** UDP routing of one entrypoint: Traefik allows one UDP router per entrypoint (no rules). */
export interface UdpEntrypointRouting {
  readonly entrypoint: string;
  /** Qualified router name. */
  readonly router: string;
  /** Qualified service name. */
  readonly service: string;
  /** Every server reachable through the service (API). */
  readonly servers: readonly UdpServerTarget[];
  /** The server for a new session (weighted round robin). */
  pick(): UdpServerTarget | undefined;
}
