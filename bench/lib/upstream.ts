import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../test/helpers/net.ts';
import { BODY_1K, BODY_1M } from './bodies.ts';
import type { BenchCert } from './certs.ts';
import { startProcess, waitForPort, type BenchProcess } from './proc.ts';
import { renderTemplate } from './template.ts';
import { hasCommand } from './tools.ts';

/** The shared upstream: HTTP bodies (and TLS for the direct HTTPS row) plus the WebSocket echo. */
export interface Upstream {
  /** What serves the HTTP bodies: `nginx` (preferred) or `node`. */
  readonly kind: 'nginx' | 'node';
  readonly httpPort: number;
  /** Direct TLS port; only the nginx upstream has one. */
  readonly httpsPort: number | undefined;
  readonly wsPort: number;
  /** Root pids, for RSS. */
  readonly httpPid: number;
  readonly wsPid: number;
  stop(): Promise<void>;
}

/**
 * Starts the upstream. nginx answers a small body from memory and files from the page cache at a
 * fraction of the CPU a Node server needs per request, so on a 2-core machine the upstream stays
 * far from being the bottleneck of a proxied run; Node is the fallback when nginx is missing, and
 * always serves the WebSocket echo (nginx cannot echo).
 */
export async function startUpstream(dir: string, cert: BenchCert, preferNode = false): Promise<Upstream> {
  const ws = await startNodeUpstream();
  if (preferNode || !hasCommand('nginx')) {
    return {
      kind: 'node',
      httpPort: ws.port,
      httpsPort: undefined,
      wsPort: ws.port,
      httpPid: ws.proc.pid,
      wsPid: ws.proc.pid,
      stop: () => ws.proc.stop(),
    };
  }
  const root = join(dir, 'upstream-root');
  mkdirSync(root, { recursive: true, mode: 0o755 });
  writeFileSync(join(root, '1k'), BODY_1K);
  writeFileSync(join(root, '1m'), BODY_1M);
  const port = await freePort();
  const httpsPort = await freePort();
  const ndir = join(dir, 'upstream-nginx');
  mkdirSync(ndir, { recursive: true, mode: 0o755 });
  const conf = join(ndir, 'nginx.conf');
  writeFileSync(
    conf,
    renderTemplate('upstream-nginx.conf.tmpl', {
      DIR: ndir,
      PORT: port,
      HTTPS_PORT: httpsPort,
      ROOT: root,
      CERT: cert.certFile,
      KEY: cert.keyFile,
    }),
  );
  const proc = startProcess('upstream-nginx', 'nginx', ['-p', ndir, '-c', conf, '-e', join(ndir, 'error.log')]);
  await waitForPort(port, proc);
  return {
    kind: 'nginx',
    httpPort: port,
    httpsPort,
    wsPort: ws.port,
    httpPid: proc.pid,
    wsPid: ws.proc.pid,
    async stop() {
      await Promise.all([proc.stop(), ws.proc.stop()]);
    },
  };
}

async function startNodeUpstream(): Promise<{ proc: BenchProcess; port: number }> {
  const proc = startProcess('upstream-node', process.execPath, [join(import.meta.dirname, 'upstream-server.ts')]);
  const port = await new Promise<number>((resolve, reject) => {
    let buf = '';
    const onData = (b: Buffer): void => {
      buf += b.toString();
      const m = /\{"port":(\d+)\}/.exec(buf);
      if (m) {
        proc.child.stdout?.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    proc.child.stdout?.on('data', onData);
    void proc.exited.then(() => reject(new Error(`node upstream exited\n${proc.output.join('\n')}`)));
  });
  return { proc, port };
}
