/**
 * Real Docker daemons for the test suite, one per "repository", as on a rediacc host.
 *
 * Every daemon of a fleet puts its socket in one temp directory as `docker-<id>.sock`, so the glob
 * `unix://<dir>/docker-*.sock` matches them all. Daemons run with `--live-restore`: when one is
 * stopped (SIGTERM) its containers keep serving, exactly the situation in which berth must keep the
 * daemon's routes while showing it as `down`. The image `test-bb:latest` is imported from
 * busybox-static into every daemon; nothing is pulled.
 *
 * Start a fleet once per test file (`before`/`after`), never per test: a daemon needs ~1 s to start
 * and ~1-3 s to stop.
 *
 * What works on the Debian 12 test machines (root, cgroup v1, cgroupfs driver): Debian's dockerd
 * 20.10 with its default overlay2 storage driver (no `--storage-driver=vfs` needed), `--bridge=none
 * --iptables=false --ip-masq=false --ip6tables=false`. dockerd leaves two mounts behind (its data
 * root and `exec/netns/default`), so teardown unmounts them before deleting the directory. Busybox
 * httpd ignores SIGTERM as PID 1, so containers run it under `sh` with a TERM trap: `docker stop`
 * is immediate instead of waiting 10 s.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, symlink, copyFile, rm, readFile, readdir, open } from 'node:fs/promises';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, waitUntil } from './net.ts';
import { trackChild } from './track-child.ts';
import { withTimeout } from './with-timeout.ts';

const execFileP = promisify(execFile);

/** The image every daemon gets: busybox with sh, httpd, nc, echo, sleep, cat, mkdir. */
export const TEST_IMAGE = 'test-bb:latest';
const APPLETS = ['sh', 'httpd', 'nc', 'echo', 'sleep', 'cat', 'mkdir', 'true', 'wget'];

/** What to run in {@link Dockerd.runHttpd}. */
export interface HttpdOptions {
  /** Container name; also the body of `GET /` so tests can tell replicas apart. */
  readonly name: string;
  /** Loopback address to bind (default: a fresh random 127.x.y.z). */
  readonly ip?: string;
  /** Port to bind (default: a free port on `ip`). */
  readonly port?: number;
  readonly labels?: Readonly<Record<string, string>>;
  readonly env?: Readonly<Record<string, string>>;
  /** Body served at `/` (default: the container name). */
  readonly body?: string;
  /** Extra `docker run` arguments (e.g. `--health-cmd`). */
  readonly extraArgs?: readonly string[];
}

/** A container started by {@link Dockerd.runHttpd}. */
export interface HttpdContainer {
  readonly name: string;
  readonly id: string;
  readonly ip: string;
  readonly port: number;
  readonly body: string;
}

/** One real dockerd. */
export interface Dockerd {
  /** `docker-<n>`: the socket's file name without `.sock`, as berth names the daemon. */
  readonly id: string;
  readonly socket: string;
  /** `unix://<socket>` */
  readonly endpoint: string;
  /** Whether the daemon process is currently running. */
  readonly running: boolean;
  /** Runs the docker CLI against this daemon; resolves with trimmed stdout. */
  docker(args: readonly string[]): Promise<string>;
  /** Runs a host-network busybox httpd serving `body` at `/` on `ip:port`. */
  runHttpd(opts: HttpdOptions): Promise<HttpdContainer>;
  /** `docker start|stop|kill|rm -f` of a container by name or id. */
  startContainer(name: string): Promise<void>;
  stopContainer(name: string): Promise<void>;
  killContainer(name: string): Promise<void>;
  removeContainer(name: string): Promise<void>;
  /** SIGTERMs the daemon and waits for it to exit; its containers keep running (live-restore). */
  kill(): Promise<void>;
  /** Starts the daemon again on the same data root and socket. */
  restart(): Promise<void>;
  /** Kills its containers, stops the daemon and deletes its socket and data root for good. */
  remove(): Promise<void>;
}

/** A set of daemons sharing one socket directory. */
export interface DockerdFleet {
  /** The directory holding `docker-*.sock`. */
  readonly dir: string;
  /** `unix://<dir>/docker-*.sock` */
  readonly glob: string;
  readonly daemons: readonly Dockerd[];
  /** Starts one more daemon in the fleet (its socket matches `glob`). */
  add(): Promise<Dockerd>;
  /** Kills every container, stops every daemon, waits for their pids, removes the directory. */
  stop(): Promise<void>;
}

let nextId = 1001;
let rootfsTar: Promise<string> | undefined;
/** Ceiling for one docker CLI call (a daemon that accepts and never answers must not hang a test). */
const DOCKER_CLI_TIMEOUT_MS = 120_000;

/** A random loopback address 127.x.y.z with x ≥ 10 (clear of 127.0.0.1 and common test addresses). */
export function randomLoopback(): string {
  const r = (lo: number, hi: number): number => lo + Math.floor(Math.random() * (hi - lo + 1));
  return `127.${r(10, 250)}.${r(1, 250)}.${r(2, 250)}`;
}

/** Starts `n` daemons in one fresh socket directory. */
export async function startDockerds(n: number): Promise<DockerdFleet> {
  const dir = await mkdtemp('/tmp/bd-');
  const fleet = new FleetImpl(dir);
  try {
    await Promise.all(Array.from({ length: n }, () => fleet.add()));
  } catch (err) {
    await fleet.stop();
    throw err;
  }
  return fleet;
}

class FleetImpl implements DockerdFleet {
  readonly dir: string;
  readonly glob: string;
  readonly daemons: DaemonImpl[] = [];
  constructor(dir: string) {
    this.dir = dir;
    this.glob = `unix://${dir}/docker-*.sock`;
  }

  async add(): Promise<Dockerd> {
    const d = new DaemonImpl(this.dir, `docker-${nextId++}`);
    this.daemons.push(d);
    await d.boot();
    await d.importImage();
    return d;
  }

  async stop(): Promise<void> {
    await Promise.all(this.daemons.map((d) => d.remove().catch(() => undefined)));
    await unmountUnder(this.dir);
    await rm(this.dir, { recursive: true, force: true });
  }
}

class DaemonImpl implements Dockerd {
  readonly id: string;
  readonly socket: string;
  readonly endpoint: string;
  readonly root: string;
  proc: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private removed = false;

  constructor(dir: string, id: string) {
    this.id = id;
    this.socket = join(dir, `${id}.sock`);
    this.endpoint = `unix://${this.socket}`;
    this.root = join(dir, id);
  }

  get running(): boolean {
    return this.proc !== undefined;
  }

  async boot(): Promise<void> {
    await mkdir(this.root, { recursive: true });
    const log = await open(join(this.root, 'dockerd.log'), 'a');
    const args = [
      '--host',
      this.endpoint,
      '--data-root',
      join(this.root, 'data'),
      '--exec-root',
      join(this.root, 'exec'),
      '--pidfile',
      join(this.root, 'dockerd.pid'),
      '--bridge=none',
      '--iptables=false',
      '--ip-masq=false',
      '--ip6tables=false',
      '--live-restore',
    ];
    // detached → setsid: the daemon gets its own session, as in TESTING.md.
    // If the test process dies without teardown, SIGTERM (not SIGKILL, which strands containerd).
    const proc = trackChild(spawn('dockerd', args, { detached: true, stdio: ['ignore', log.fd, log.fd] }), 'SIGTERM');
    await log.close();
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.once('exit', () => {
        if (this.proc === proc) this.proc = undefined;
        resolve();
      });
    });
    try {
      await waitUntil(
        async () => {
          if (this.proc !== proc) throw new Error('exited');
          await execFileP('docker', ['-H', this.endpoint, 'info', '--format', '{{.ID}}'], { timeout: 10_000 });
          return true;
        },
        `dockerd ${this.id} to answer`,
        30_000,
        100,
      );
    } catch (err) {
      const tail = await readFile(join(this.root, 'dockerd.log'), 'utf8').catch(() => '');
      throw new Error(`dockerd ${this.id} did not start: ${String(err)}\n${tail.slice(-2000)}`);
    }
  }

  async importImage(): Promise<void> {
    const tar = await (rootfsTar ??= buildRootfsTar());
    await execFileP('docker', ['-H', this.endpoint, 'import', tar, TEST_IMAGE], { timeout: DOCKER_CLI_TIMEOUT_MS });
  }

  async docker(args: readonly string[]): Promise<string> {
    const { stdout } = await execFileP('docker', ['-H', this.endpoint, ...args], {
      maxBuffer: 16 << 20,
      timeout: DOCKER_CLI_TIMEOUT_MS,
    });
    return stdout.trim();
  }

  async runHttpd(opts: HttpdOptions): Promise<HttpdContainer> {
    const ip = opts.ip ?? randomLoopback();
    const port = opts.port ?? (await freePort(ip));
    const body = opts.body ?? opts.name;
    const args = ['run', '-d', '--network', 'host', '--name', opts.name];
    for (const [k, v] of Object.entries(opts.labels ?? {})) args.push('--label', `${k}=${v}`);
    for (const [k, v] of Object.entries(opts.env ?? {})) args.push('--env', `${k}=${v}`);
    args.push(
      '--env',
      `BODY=${body}`,
      ...(opts.extraArgs ?? []),
      TEST_IMAGE,
      'sh',
      '-c',
      // sh as PID 1 with a TERM trap, so `docker stop` is immediate (httpd alone ignores SIGTERM as PID 1).
      `mkdir -p /www; echo "$BODY" > /www/index.html; trap 'exit 0' TERM INT; httpd -f -p ${ip}:${port} -h /www & wait`,
    );
    const id = await this.docker(args);
    return { name: opts.name, id, ip, port, body };
  }

  async startContainer(name: string): Promise<void> {
    await this.docker(['start', name]);
  }
  async stopContainer(name: string): Promise<void> {
    await this.docker(['stop', '-t', '5', name]);
  }
  async killContainer(name: string): Promise<void> {
    await this.docker(['kill', name]);
  }
  async removeContainer(name: string): Promise<void> {
    await this.docker(['rm', '-f', name]);
  }

  async kill(): Promise<void> {
    const proc = this.proc;
    if (!proc) return;
    proc.kill('SIGTERM');
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000);
    try {
      await withTimeout(this.exited, 40_000, `dockerd ${this.id} (pid ${proc.pid}) to exit`);
    } finally {
      clearTimeout(timer);
    }
  }

  async restart(): Promise<void> {
    if (this.proc) return;
    await this.boot();
  }

  async remove(): Promise<void> {
    if (this.removed) return;
    this.removed = true;
    // Containers of a stopped daemon still run (live-restore): bring it back to kill them.
    if (!this.proc && existsSync(join(this.root, 'data'))) await this.boot().catch(() => undefined);
    if (this.proc) {
      const ids = (await this.docker(['ps', '-q']).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length > 0) await this.docker(['kill', ...ids]).catch(() => undefined);
    }
    await this.kill();
    await unmountUnder(this.root);
    await rm(this.root, { recursive: true, force: true });
    await rm(this.socket, { force: true });
  }
}

/** dockerd leaves bind mounts (data root, netns) behind; unmount deepest first so `rm -rf` works. */
async function unmountUnder(dir: string): Promise<void> {
  const mounts = (await readFile('/proc/mounts', 'utf8'))
    .split('\n')
    .map((l) => l.split(' ')[1] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) await execFileP('umount', ['-l', m]).catch(() => undefined);
}

/** A rootfs tarball holding busybox and its applet links, built once per test process. */
async function buildRootfsTar(): Promise<string> {
  const dir = await mkdtemp('/tmp/bb-rootfs-');
  const root = join(dir, 'root');
  await mkdir(join(root, 'bin'), { recursive: true });
  await mkdir(join(root, 'tmp'), { recursive: true });
  const busybox = existsSync('/bin/busybox') ? '/bin/busybox' : '/usr/bin/busybox';
  await copyFile(busybox, join(root, 'bin', 'busybox'));
  for (const a of APPLETS) await symlink('busybox', join(root, 'bin', a));
  const tar = join(dir, 'rootfs.tar');
  await execFileP('tar', ['-C', root, '-cf', tar, '.']);
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  return tar;
}

/**
 * Processes (not zombies) whose command line mentions `dir`: dockerd, containerd, shims and
 * container processes of a fleet. Empty after a clean teardown.
 */
export async function processesUnder(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
      if (/^\d+ \(.*\) Z/.test(stat)) continue;
      const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replaceAll('\0', ' ');
      if (cmd.includes(dir)) found.push(`${pid} ${cmd}`);
    } catch {
      // exited meanwhile
    }
  }
  return found;
}
