/**
 * The claims as plain data: who holds a key, which claims were refused, what a decode granted.
 * The decoder's result carries them, so they live apart from the code that works them out.
 */

/** Who holds a claim: the daemon (repository) and the container that took it for it. */
export interface ClaimOwner {
  readonly daemon: string;
  /** Container name, for messages. */
  readonly container: string;
  readonly containerId: string;
  /** `rediacc.repo_name` (the parent's name for forks), when labelled. */
  readonly repository?: string;
  /** The container's creation time as Docker reports it (RFC 3339). */
  readonly created?: string;
  /** Epoch ms at which the claim was first granted (from the claim ledger). */
  readonly since?: number;
}

/** A claim that was refused because another daemon owns the key. */
export interface RefusedClaim {
  readonly key: string;
  /** The daemon and container whose element was dropped. */
  readonly daemon: string;
  readonly containerId: string;
  /** `http.routers.x`, the element dropped. */
  readonly element: string;
  readonly owner: ClaimOwner;
}

/** The claim side of a decode: who got what, who was refused, and what each container asks for. */
export interface ClaimOutcome {
  /** Keys granted by this merge (hosts and catch-alls always; names once two daemons defined them). */
  readonly granted: ReadonlyMap<string, ClaimOwner>;
  readonly refused: readonly RefusedClaim[];
  /** Every key each container's elements ask for, by `daemon\0containerId`. */
  readonly wanted: ReadonlyMap<string, readonly string[]>;
}
