/**
 * The status of one element of the merged configuration, for `/routes.json` and the dashboard.
 * Every builder (HTTP, TCP, UDP) reports its elements in this shape, so it lives below all of them.
 */
export interface ElementStatus {
  readonly name: string;
  readonly kind:
    | 'http-router'
    | 'tcp-router'
    | 'udp-router'
    | 'http-service'
    | 'tcp-service'
    | 'udp-service'
    | 'middleware';
  readonly status: 'enabled' | 'disabled' | 'warning';
  readonly errors: readonly string[];
}
