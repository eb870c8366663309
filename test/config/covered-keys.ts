/**
 * Which tests hold the keys of each part of the configuration to their behaviour: a key is covered
 * when one of the files listed for the longest prefix of its path mentions it. A key that takes no
 * effect is in src/config/warned.ts instead. schema-walk.test.ts checks every key against both.
 */

/** Key-path prefix → test files (relative to test/) that exercise those keys. */
export const COVERED_STATIC: Readonly<Record<string, readonly string[]>> = {
  'entryPoints': [
    'integration/proxy-core.test.ts', 'integration/tls-entrypoint.test.ts', 'integration/l4-e2e.test.ts', 'integration/ops-drain.test.ts',
    'hardening/host-path-headers.test.ts', 'hardening/http1-framing.test.ts', 'hardening/h2-websocket.test.ts', 'hardening/l4-lifecycle.test.ts',
    'ops/drain-keepalive.test.ts', 'tcp/build.test.ts', 'udp/entrypoint.test.ts', 'http/middlewares/limits.test.ts', 'pipeline/compile.test.ts',
    'observability/access-log.test.ts', 'observability/metrics.test.ts', 'acme/wanted.test.ts', 'config/static/decode-defaults.test.ts',
    'integration/cli.test.ts', 'config/static/decode-errors.test.ts', 'entrypoints/request-paths.test.ts',
  ],
  'providers': [
    'providers/docker/provider-fake.test.ts', 'providers/docker/provider-dockerd.test.ts', 'providers/docker/endpoints.test.ts',
    'providers/file/file-provider.test.ts', 'providers/http/http-provider.test.ts', 'providers/http/http-provider-tls.test.ts',
    'integration/docker-e2e.test.ts', 'integration/http-provider-e2e.test.ts', 'config/static/decode-defaults.test.ts', 'config/labels/decode.test.ts',
  ],
  'certificatesResolvers': [
    'acme/renewal.test.ts', 'acme/resolver-options.test.ts', 'dns/dns01-providers.test.ts', 'acme/certificate-manager.test.ts', 'acme/wanted.test.ts', 'acme/storage.test.ts',
    'integration/acme-e2e.test.ts', 'integration/auto-routes-acme.test.ts', 'acme/challenge-timing.test.ts', 'integration/acme-ca-client.test.ts',
  ],
  'api': ['integration/cli.test.ts', 'integration/start-default.test.ts', 'observability/dashboard-page.test.ts', 'config/static/decode-defaults.test.ts'],
  'log': ['ops/log-rotation.test.ts', 'observability/access-log.test.ts', 'ops/config-diff.test.ts', 'config/static/decode-defaults.test.ts'],
  'accessLog': ['observability/access-log.test.ts', 'observability/access-log-lines.test.ts', 'observability/access-log-rotation.test.ts', 'integration/observability.test.ts'],
  'metrics': ['observability/metrics.test.ts', 'integration/observability.test.ts'],
  'ping': ['integration/observability.test.ts', 'integration/ops-drain.test.ts', 'config/static/decode-defaults.test.ts'],
  'serversTransport': ['hardening/upstream-faults.test.ts', 'http/forwarder.test.ts', 'config/static/decode-defaults.test.ts', 'http/servers-transport.test.ts'],
  'edge': ['config/static/generated-entrypoints.test.ts', 'integration/docker-claims.test.ts', 'providers/docker/claim-ledger.test.ts', 'config/labels/decode.test.ts', 'integration/l4-e2e.test.ts', 'dns/records-manager.test.ts', 'tcp/port-allocator.test.ts', 'config/static/decode-errors.test.ts', 'integration/dns-e2e.test.ts', 'integration/seed-edge.test.ts'],
  'workers': ['integration/workers.test.ts'],
  'fleet': ['fleet/fleet-config.test.ts', 'fleet/redis-acme-storage.test.ts', 'fleet/outage-renewal.test.ts'],
  'limits': ['hardening/http1-framing.test.ts', 'hardening/tls-sni.test.ts', 'hardening/l4-lifecycle.test.ts', 'config/static/decode-defaults.test.ts'],
};

/** Key-path prefix → test files for the dynamic configuration (files, HTTP provider, labels). */
export const COVERED_DYNAMIC: Readonly<Record<string, readonly string[]>> = {
  'http.routers': ['pipeline/compile.test.ts', 'rules/http-rule.test.ts', 'integration/proxy-core.test.ts', 'acme/wanted.test.ts', 'integration/tls-entrypoint.test.ts', 'observability/access-log.test.ts', 'observability/metrics.test.ts'],
  'http.services': [
    'pipeline/compile.test.ts', 'integration/proxy-core.test.ts', 'integration/mirroring.test.ts', 'hardening/upstream-faults.test.ts',
    'http/forwarder.test.ts', 'config/keys-in-effect.test.ts', 'config/labels/golden.test.ts', 'integration/health-check-intervals.test.ts',
  ],
  'http.middlewares': ['http/middlewares/registry.test.ts', 'pipeline/compile.test.ts', 'config/keys-in-effect.test.ts'],
  'http.middlewares.*.contentType': ['config/keys-in-effect.test.ts'],
  'http.middlewares.*.addPrefix': ['http/middlewares/path.test.ts'],
  'http.middlewares.*.basicAuth': ['http/middlewares/basic-auth.test.ts'],
  'http.middlewares.*.buffering': ['http/middlewares/buffering.test.ts'],
  'http.middlewares.*.chain': ['http/middlewares/chain.test.ts'],
  'http.middlewares.*.compress': ['http/middlewares/response.test.ts'],
  'http.middlewares.*.errors': ['http/middlewares/response.test.ts'],
  'http.middlewares.*.forwardAuth': ['http/middlewares/forward-auth.test.ts', 'http/middlewares/forward-auth-tls.test.ts'],
  'http.middlewares.*.forwardAuth.headerField': ['config/keys-in-effect.test.ts'],
  'http.middlewares.*.forwardAuth.maxBodySize': ['config/keys-in-effect.test.ts'],
  'http.middlewares.*.headers': ['http/middlewares/headers.test.ts', 'config/keys-in-effect.test.ts'],
  'http.middlewares.*.ipAllowList': ['http/middlewares/limits.test.ts', 'config/keys-in-effect.test.ts'],
  'http.middlewares.*.ipWhiteList': ['http/middlewares/limits.test.ts', 'config/keys-in-effect.test.ts'],
  'http.middlewares.*.inFlightReq': ['http/middlewares/limits.test.ts', 'config/keys-in-effect.test.ts'],
  'http.middlewares.*.rateLimit': ['http/middlewares/limits.test.ts', 'config/keys-in-effect.test.ts'],
  'http.middlewares.*.redirectRegex': ['http/middlewares/redirect.test.ts'],
  'http.middlewares.*.redirectScheme': ['http/middlewares/redirect.test.ts'],
  'http.middlewares.*.replacePath': ['http/middlewares/path.test.ts'],
  'http.middlewares.*.replacePathRegex': ['http/middlewares/path.test.ts'],
  'http.middlewares.*.retry': ['http/middlewares/response.test.ts', 'hardening/upstream-faults.test.ts'],
  'http.middlewares.*.stripPrefix': ['http/middlewares/path.test.ts'],
  'http.middlewares.*.stripPrefixRegex': ['http/middlewares/path.test.ts'],
  'http.serversTransports': ['hardening/upstream-faults.test.ts', 'http/forwarder.test.ts', 'pipeline/compile.test.ts', 'config/keys-in-effect.test.ts', 'http/servers-transport.test.ts'],
  'tcp.routers': ['tcp/build.test.ts', 'tcp/l4-security-e2e.test.ts', 'rules/tcp-rule.test.ts', 'integration/l4-e2e.test.ts', 'integration/l4-relay.test.ts', 'acme/wanted.test.ts', 'tcp/tls-options-e2e.test.ts'],
  'tcp.middlewares': ['tcp/middlewares.test.ts', 'tcp/l4-security-e2e.test.ts'],
  'tcp.services': ['tcp/build.test.ts', 'integration/l4-e2e.test.ts', 'integration/l4-relay.test.ts', 'hardening/l4-lifecycle.test.ts', 'config/keys-in-effect.test.ts'],
  'tcp.serversTransports': ['tcp/build.test.ts', 'hardening/l4-lifecycle.test.ts', 'config/keys-in-effect.test.ts'],
  'udp': ['udp/entrypoint.test.ts', 'integration/l4-e2e.test.ts', 'hardening/l4-lifecycle.test.ts', 'udp/weights.test.ts'],
  'tls.certificates': ['tls/certificate-store.test.ts', 'integration/tls-entrypoint.test.ts', 'hardening/tls-sni.test.ts'],
  'tls.options': ['tls/options.test.ts', 'hardening/tls-sni.test.ts', 'integration/tls-entrypoint.test.ts'],
  'tls.stores': ['tls/certificate-store.test.ts', 'acme/wanted.test.ts', 'integration/tls-entrypoint.test.ts', 'hardening/tls-sni.test.ts'],
};

/**
 * Middleware types whose use is an error (the routers using them are disabled, with the reason):
 * their options are covered by the test that shows the refusal, which names the type.
 */
export const REFUSED_DYNAMIC: Readonly<Record<string, string>> = {
  'http.middlewares.*.digestAuth': 'http/middlewares/registry.test.ts',
  'http.middlewares.*.grpcWeb': 'http/middlewares/registry.test.ts',
  'http.middlewares.*.passTLSClientCert': 'http/middlewares/registry.test.ts',
  'http.middlewares.*.plugin': 'http/middlewares/registry.test.ts',
  'http.middlewares.*.circuitBreaker': 'config/keys-in-effect.test.ts',
};
