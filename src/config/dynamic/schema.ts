/**
 * The one declaration of Traefik v3.7's dynamic configuration (with the HTTP parts in
 * `http-schema.ts` and the middlewares in `middleware-schema.ts`). The types in `types.ts` are
 * inferred from it; the file and HTTP providers decode with it (`decode.ts`), the Docker provider
 * reads labels with it (`labels/parse.ts`). Sections are lenient; elements are dropped alone.
 */
import { bool, dur, elements, int, list, obj, port, req, str, toggle, v } from '../schema/kit.ts';
import {
  certPair,
  exactlyOneKind,
  httpRouters,
  httpServices,
  names,
  routerFields,
  serversTransports,
  spiffe,
  tlsDomain,
} from './http-schema.ts';
import { httpMiddlewares, tcpMiddlewares } from './middleware-schema.ts';

/** `tcp.routers.<name>`. */
export const tcpRouterSchema = obj({
  ...routerFields,
  tls: toggle({ passthrough: bool(), options: str(), certResolver: str(), domains: list(tlsDomain) }),
});

const tcpServerFields = { address: str(), tls: bool(), weight: int({ min: 0 }) };
const weightedServices = list(obj({ name: req(str()), weight: int({ min: 0 }) }));

/** A TCP server from labels: the container's port (Traefik's `loadbalancer.server.port`). */
export const labelTcpServer = obj({ ...tcpServerFields, port: port() });

/** `tcp.services.<name>`: exactly one of loadBalancer, weighted. */
export const tcpServiceSchema = v.pipe(
  obj({
    loadBalancer: toggle({
      servers: v.pipe(
        list(obj({ ...tcpServerFields, address: req(str()) })),
        v.metadata({ label: { name: 'server', schema: labelTcpServer } }),
      ),
      proxyProtocol: toggle({ version: int({ min: 1, max: 2 }) }),
      serversTransport: str(),
      terminationDelay: int(),
      healthCheck: toggle({
        port: port(),
        send: str(),
        expect: str(),
        interval: dur(),
        unhealthyInterval: dur(),
        timeout: dur(),
      }),
    }),
    weighted: obj({ services: weightedServices, healthCheck: toggle({}) }),
  }),
  exactlyOneKind(['loadBalancer', 'weighted']),
);

/** `tcp.serversTransports.<name>`. */
export const tcpServersTransportSchema = obj({
  dialTimeout: dur(),
  dialKeepAlive: dur(),
  terminationDelay: dur(),
  proxyProtocol: toggle({ version: int({ min: 1, max: 2 }) }),
  tls: toggle({
    serverName: str(),
    insecureSkipVerify: bool(),
    rootCAs: names,
    certificates: list(certPair),
    peerCertURI: str(),
    spiffe,
  }),
});

/** `udp.routers.<name>`. */
export const udpRouterSchema = obj({ entryPoints: names, service: req(str()) });

/** A UDP server from labels: the container's port. */
export const labelUdpServer = obj({ address: str(), weight: int({ min: 0 }), port: port() });

/** `udp.services.<name>`: exactly one of loadBalancer, weighted. */
export const udpServiceSchema = v.pipe(
  obj({
    loadBalancer: toggle({
      servers: v.pipe(
        list(obj({ address: req(str()), weight: int({ min: 0 }) })),
        v.metadata({ label: { name: 'server', schema: labelUdpServer } }),
      ),
    }),
    weighted: obj({ services: weightedServices }),
  }),
  exactlyOneKind(['loadBalancer', 'weighted']),
);

/** `tls.options.<name>`. */
export const tlsOptionsSchema = obj({
  minVersion: str(),
  maxVersion: str(),
  cipherSuites: names,
  curvePreferences: names,
  clientAuth: obj({ caFiles: names, clientAuthType: str() }),
  sniStrict: bool(),
  alpnProtocols: names,
  disableSessionTickets: bool(),
  preferServerCipherSuites: bool(),
});

/** `tls.stores.<name>`. */
export const tlsStoreSchema = obj({
  defaultCertificate: certPair,
  defaultGeneratedCert: obj({ resolver: req(str()), domain: tlsDomain }),
});

/** The whole dynamic configuration. */
export const dynamicConfigSchema = obj(
  {
    http: obj(
      { routers: httpRouters, services: httpServices, middlewares: httpMiddlewares, serversTransports },
      { section: true },
    ),
    tcp: obj(
      {
        routers: elements(tcpRouterSchema),
        services: elements(tcpServiceSchema),
        middlewares: tcpMiddlewares,
        serversTransports: elements(tcpServersTransportSchema),
      },
      { section: true },
    ),
    udp: obj({ routers: elements(udpRouterSchema), services: elements(udpServiceSchema) }, { section: true }),
    tls: obj(
      {
        certificates: list(obj({ certFile: req(str()), keyFile: req(str()), stores: names }), { elements: true }),
        options: elements(tlsOptionsSchema),
        stores: elements(tlsStoreSchema),
      },
      { section: true },
    ),
  },
  { section: true },
);
