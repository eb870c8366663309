/**
 * A dynamic configuration of `n` HTTPS routers, each with its own service: the shape the
 * configuration-decoding benches measure (the server addresses are never dialled).
 */
export function routersConfig(n: number): {
  http: { routers: Record<string, unknown>; services: Record<string, unknown> };
} {
  const routers: Record<string, unknown> = {};
  const services: Record<string, unknown> = {};
  for (let i = 0; i < n; i++) {
    routers[`r${i}`] = {
      rule: `Host(\`app${i}.example.com\`)`,
      service: `s${i}`,
      entryPoints: ['websecure'],
      tls: { certResolver: 'le' },
    };
    services[`s${i}`] = {
      loadBalancer: { servers: [{ url: `http://127.0.${i >> 8}.${i & 255}:80` }], passHostHeader: true },
    };
  }
  return { http: { routers, services } };
}
