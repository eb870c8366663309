/**
 * The configuration `berth run` uses when no `-c` is given (e.g. `npm start` in a checkout): safe on
 * a developer machine. Everything listens on loopback only, and state goes to `./.berth-state`
 * because `/var/lib/berth` needs root.
 *
 * - `exposedByDefault: false`: this config watches every Docker daemon on the machine, and exposing
 *   every container that happens to run there (databases, tools, other projects) under a
 *   Host(`name`) rule is not something anyone asked for by running `npm start`. Containers opt in
 *   with `traefik.enable=true`; rediacc containers get auto-routes from their labels regardless.
 *   Traefik's own documentation recommends the same setting.
 * - `baseDomain: localhost`: auto-routes become `{service}.{repo}.localhost`, names that resolve to
 *   loopback without any DNS set-up (RFC 6761), served plain on the `web` entrypoint.
 * - No `ping`/`metrics` sections: those default to Traefik's `traefik` entrypoint on :8080 (all
 *   interfaces); `/ping` and `/metrics` are served on the API listener instead.
 * - `websecure` serves the generated self-signed default certificate (no resolver configured).
 */
export const DEFAULT_CONFIG_YAML = `# berth: embedded default configuration (loopback only)
entryPoints:
  web:
    address: "127.0.0.1:8080"
  websecure:
    address: "127.0.0.1:8443"
    http:
      tls: {}

api:
  listen: "127.0.0.1:7111"
  dashboard: true

providers:
  docker:
    exposedByDefault: false
    endpoints:
      - unix:///var/run/docker.sock
      - unix:///var/run/rediacc/docker-*.sock

edge:
  baseDomain: localhost
  autoRoutes: true
  stateDir: ./.berth-state

log:
  level: info
  format: json
`;
