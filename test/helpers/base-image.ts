/**
 * A local stand-in for the official `node:24-slim` image, for building docker/Dockerfile where no
 * registry is reachable.
 *
 * The rootfs holds what the Dockerfile relies on from its base: Node 24 as `node` (the project's own
 * binary, node_modules/node/bin/node) with the shared libraries it links, npm (the machine's npm
 * package, run by that Node), a POSIX shell and coreutils (busybox-static with every applet linked
 * in /bin, and /usr/bin/env for npm's shebang), /etc/passwd and /etc/group with root and `node`
 * (uid 1000, as in the official image), the machine's CA bundle (npm behind a TLS-intercepting
 * proxy), and a world-writable sticky /tmp (berth keeps its worker sockets in /tmp/berth).
 *
 * The tarball is built once per test process; `docker import` takes about a second per daemon.
 */
import { execFile } from 'node:child_process';
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, realpath, symlink, writeFile } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

const execFileP = promisify(execFile);
const ROOT = resolve(import.meta.dirname, '../..');

/** The tag the stand-in is imported as; pass it as `--build-arg BASE_IMAGE=…`. */
export const NODE_BASE_IMAGE = 'berth-node-base:24';

/** Where the CA bundle sits, on this machine and in the stand-in image. */
export const CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';

let tarball: Promise<string> | undefined;

/** The stand-in's rootfs as a tarball (built once per process, removed at exit). */
export function nodeBaseTarball(): Promise<string> {
  return (tarball ??= buildTarball());
}

/** Imports the stand-in into the daemon at `endpoint` as {@link NODE_BASE_IMAGE}. */
export async function importNodeBase(endpoint: string): Promise<void> {
  const tar = await nodeBaseTarball();
  await execFileP('docker', [
    '-H',
    endpoint,
    'import',
    '--change',
    'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    '--change',
    'CMD ["node"]',
    tar,
    NODE_BASE_IMAGE,
  ]);
}

/** The npm package directory of the machine's `npm` command. */
async function npmPackageDir(): Promise<string> {
  const { stdout } = await execFileP('sh', ['-c', 'command -v npm']);
  const cli = await realpath(stdout.trim()); // …/node_modules/npm/bin/npm-cli.js
  const dir = dirname(dirname(cli));
  if (!existsSync(join(dir, 'package.json'))) throw new Error(`npm package not found from ${cli}`);
  return dir;
}

/** Absolute paths of the shared libraries (and the loader) an ELF binary links. */
async function sharedLibraries(binary: string): Promise<string[]> {
  const { stdout } = await execFileP('ldd', [binary]);
  const libs: string[] = [];
  for (const line of stdout.split('\n')) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x…)" or "/lib64/ld-linux-x86-64.so.2 (0x…)"
    const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
    if (m?.[1]) libs.push(m[1]);
  }
  return libs;
}

async function buildTarball(): Promise<string> {
  const dir = await mkdtemp('/tmp/berth-node-base-');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  const root = join(dir, 'root');
  const at = (p: string): string => join(root, p);
  for (const d of [
    'bin',
    'usr/bin',
    'usr/local/bin',
    'usr/local/lib/node_modules',
    'etc/ssl/certs',
    'root',
    'home/node',
    'var/run',
    'tmp',
  ]) {
    await mkdir(at(d), { recursive: true });
  }
  await chmod(at('tmp'), 0o1777);
  await chmod(at('root'), 0o700);

  // Node 24 and the libraries it links, at the paths the loader looks for them.
  const node = await realpath(join(ROOT, 'node_modules/node/bin/node'));
  await copyFile(node, at('usr/local/bin/node'));
  for (const lib of await sharedLibraries(node)) {
    await mkdir(at(dirname(lib)), { recursive: true });
    await copyFile(await realpath(lib), at(lib));
  }

  // npm, run by that Node.
  await cp(await npmPackageDir(), at('usr/local/lib/node_modules/npm'), { recursive: true, dereference: true });
  await symlink('../lib/node_modules/npm/bin/npm-cli.js', at('usr/local/bin/npm'));
  await symlink('../lib/node_modules/npm/bin/npx-cli.js', at('usr/local/bin/npx'));

  // A shell and the usual commands.
  const busybox = existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';
  await copyFile(busybox, at('bin/busybox'));
  await chmod(at('bin/busybox'), 0o755);
  const { stdout: applets } = await execFileP(busybox, ['--list']);
  for (const a of applets.split('\n').map((s) => s.trim())) {
    if (a && a !== 'busybox' && !existsSync(at(`bin/${a}`))) await symlink('busybox', at(`bin/${a}`));
  }
  await symlink('/bin/busybox', at('usr/bin/env'));

  // Users, name resolution, CA certificates.
  await writeFile(
    at('etc/passwd'),
    'root:x:0:0:root:/root:/bin/sh\nnode:x:1000:1000::/home/node:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n',
  );
  await writeFile(at('etc/group'), 'root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n');
  await writeFile(at('etc/nsswitch.conf'), 'passwd: files\ngroup: files\nhosts: files dns\n');
  await writeFile(at('etc/ssl/certs/ca-certificates.crt'), await readFile(CA_BUNDLE));

  const tar = join(dir, 'rootfs.tar');
  await execFileP('tar', ['-C', root, '--numeric-owner', '--owner=0', '--group=0', '-cf', tar, '.']);
  return tar;
}
