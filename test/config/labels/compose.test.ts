import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { lintCompose } from '../../../src/config/labels/compose.ts';
import { options } from './fixtures.ts';

const opts = options();

describe('lintCompose', () => {
  test('list and map label forms, ports and expose, project from name:', () => {
    const yaml = `
name: Shop
services:
  web:
    image: nginx
    labels:
      - "traefik.enable=true"
      - "traefik.http.routers.web.rule=Host(\`shop.example.com\`)"
    ports: ["127.0.0.1:8080:80", "9000-9001:9000-9001/udp"]
  api:
    image: api
    labels:
      traefik.enable: "true"
      traefik.http.services.api.loadbalancer.server.port: 3000
    expose: ["3000", 3001]
    networks: [front, back]
  db:
    image: postgres
`;
    const r = lintCompose(yaml, 'compose.yaml', opts);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.config.http?.routers?.['web'], { rule: 'Host(`shop.example.com`)', service: 'web-shop' });
    assert.deepEqual(r.config.http?.services?.['web-shop']?.loadBalancer?.servers, [{ url: 'http://web:80' }]);
    assert.deepEqual(r.config.http?.routers?.['api-shop'], { rule: 'Host(`api-shop`)', service: 'api' });
    assert.deepEqual(r.config.http?.services?.['api']?.loadBalancer?.servers, [{ url: 'http://api:3000' }]);
    assert.equal(r.config.http?.routers?.['db-shop'], undefined);
  });

  test('project defaults to the directory name; host networking uses loopback; RPROXY env map form', () => {
    const yaml = `services:
  app:
    network_mode: host
    environment:
      RPROXY: http://app.example.com:8080
      EMPTY:
    labels: { traefik.enable: "true", traefik.http.services.app.loadbalancer.server.port: "8081" }
`;
    const r = lintCompose(yaml, '/srv/My Project/compose.yaml', opts);
    assert.deepEqual(r.diagnostics, []);
    assert.deepEqual(r.config.http?.routers?.['app-myproject']?.service, 'app');
    assert.deepEqual(r.config.http?.services?.['app']?.loadBalancer?.servers, [{ url: 'http://127.0.0.1:8081' }]);
    assert.deepEqual(r.config.http?.services?.['rproxy-app-example-com-8080']?.loadBalancer?.servers, [
      { url: 'http://127.0.0.1:8080' },
    ]);
  });

  const bad: { desc: string; yaml: string; match: RegExp }[] = [
    { desc: 'YAML syntax error', yaml: 'services:\n  web: [unclosed\n', match: /^YAML: / },
    { desc: 'not a compose file', yaml: '- a\n- b\n', match: /not a compose file/ },
    { desc: 'empty document', yaml: '', match: /not a compose file/ },
    { desc: 'service is not a map', yaml: 'services:\n  web: 3\n', match: /not a map/ },
    { desc: 'bad port entry', yaml: 'services:\n  web:\n    ports: ["abc:def"]\n', match: /ports: invalid entry/ },
    {
      desc: 'label typo names the service and the file',
      yaml: 'services:\n  web:\n    labels: ["traefik.enable=true", "traefik.http.routers.w.rulee=Host(`a`)"]\n    expose: [80]\n',
      match: /did you mean "rule"/,
    },
  ];
  for (const c of bad) {
    test(`diagnostic: ${c.desc}`, () => {
      const r = lintCompose(c.yaml, 'compose.yaml', opts);
      assert.ok(
        r.diagnostics.some((d) => c.match.test(d.message)),
        JSON.stringify(r.diagnostics),
      );
      assert.ok(r.diagnostics.every((d) => d.source.includes('compose.yaml')));
    });
  }
});
