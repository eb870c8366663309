/**
 * Listening sockets passed to berth at start: systemd socket activation (`LISTEN_PID`,
 * `LISTEN_FDS`, `LISTEN_FDNAMES`, see sd_listen_fds(3)) and berth's own hand-over from a previous
 * process (`BERTH_LISTEN_FDS`, see handover.ts). Both map a name to a file descriptor; an
 * entrypoint whose name matches adopts the socket instead of binding its address. A socket no TCP
 * entrypoint adopts is closed at start: held open, it would queue connections nobody accepts.
 */
import { closeSync } from 'node:fs';
import type { EntryPointConfig } from '../config/static/types.ts';
import { diagWarning, type Diagnostic } from '../lib/diagnostics.ts';

/** The first passed descriptor (`SD_LISTEN_FDS_START`): 0-2 are stdin, stdout, stderr. */
export const LISTEN_FDS_START = 3;

/** Environment variable of berth's hand-over protocol: `web=3,websecure=4`. */
export const HANDOVER_FDS_ENV = 'BERTH_LISTEN_FDS';

/** Inherited listening sockets by name, and what was wrong with the environment. */
export interface InheritedSockets {
  /** By entrypoint: the socket, and for a berth with workers the further sockets of the group. */
  readonly sockets: Map<string, InheritedSocket>;
  /** Passed descriptors that cannot be matched to any entrypoint (no usable name, a repeated name). */
  readonly unusable: number[];
  readonly diagnostics: Diagnostic[];
  /** Where the sockets came from, for the start-up log. */
  readonly origin: 'systemd' | 'handover' | 'none';
}

/**
 * An inherited listening socket. A berth with workers passes one socket per worker (each bound
 * with SO_REUSEPORT, so the kernel spreads connections over them): the first is `fd`, the rest
 * `more`.
 */
export interface InheritedSocket {
  readonly fd: number;
  readonly more?: number[];
}

/** Every descriptor of an inherited socket group. */
export function socketFds(s: InheritedSocket): number[] {
  return [s.fd, ...(s.more ?? [])];
}

const SOURCE = 'environment';
const NAME_RE = /^[A-Za-z0-9_.-]{1,255}$/;

/**
 * Reads systemd's socket-activation variables. Descriptors are `3 … 3+LISTEN_FDS-1`, named by
 * `LISTEN_FDNAMES` (colon-separated, in order). Nothing is taken when `LISTEN_PID` names another
 * process: the variables were inherited from a parent and are not meant for us. Unnamed
 * descriptors (systemd calls them `unknown`, or the socket unit's name) cannot be matched to an
 * entrypoint and are reported.
 */
export function parseSystemdFds(env: NodeJS.ProcessEnv, pid: number): InheritedSockets {
  const sockets = new Map<string, InheritedSocket>();
  const unusable: number[] = [];
  const diagnostics: Diagnostic[] = [];
  const countText = env.LISTEN_FDS;
  if (countText === undefined || countText === '') return { sockets, unusable, diagnostics, origin: 'none' };
  const pidText = env.LISTEN_PID ?? '';
  if (!/^\d+$/.test(pidText)) {
    diagnostics.push(
      diagWarning(
        SOURCE,
        'LISTEN_PID',
        `LISTEN_FDS is set but LISTEN_PID is ${pidText === '' ? 'missing' : `"${clip(pidText)}"`}; the inherited sockets are ignored`,
      ),
    );
    return { sockets, unusable, diagnostics, origin: 'none' };
  }
  if (Number(pidText) !== pid) return { sockets, unusable, diagnostics, origin: 'none' };
  if (!/^\d+$/.test(countText) || Number(countText) > 4096) {
    diagnostics.push(
      diagWarning(
        SOURCE,
        'LISTEN_FDS',
        `expected a number of descriptors, got "${clip(countText)}"; the inherited sockets are ignored`,
      ),
    );
    return { sockets, unusable, diagnostics, origin: 'none' };
  }
  const count = Number(countText);
  const names = env.LISTEN_FDNAMES === undefined || env.LISTEN_FDNAMES === '' ? [] : env.LISTEN_FDNAMES.split(':');
  for (let i = 0; i < count; i++) {
    const fd = LISTEN_FDS_START + i;
    const name = names[i];
    if (name === undefined || name === '' || name === 'unknown' || name.endsWith('.socket')) {
      diagnostics.push(
        diagWarning(
          SOURCE,
          `fd ${fd}`,
          `socket without a usable name${name ? ` ("${clip(name)}")` : ''}; set FileDescriptorName= to the entrypoint's name (e.g. web, websecure); it is closed`,
        ),
      );
      unusable.push(fd);
      continue;
    }
    if (!NAME_RE.test(name)) {
      diagnostics.push(
        diagWarning(SOURCE, `fd ${fd}`, `socket name "${clip(name)}" is not a valid entrypoint name; it is closed`),
      );
      unusable.push(fd);
      continue;
    }
    if (sockets.has(name)) {
      diagnostics.push(
        diagWarning(
          SOURCE,
          `fd ${fd}`,
          `socket name "${name}" is given twice; one socket per entrypoint, the first one is used and this one is closed`,
        ),
      );
      unusable.push(fd);
      continue;
    }
    sockets.set(name, { fd });
  }
  return { sockets, unusable, diagnostics, origin: 'systemd' };
}

/**
 * Reads berth's hand-over variable: `name=fd` pairs separated by commas, fds ≥ 3. A name given
 * several times is a group (one socket per worker of the previous berth).
 */
export function parseHandoverFds(text: string | undefined): InheritedSockets {
  const sockets = new Map<string, InheritedSocket>();
  const diagnostics: Diagnostic[] = [];
  if (text === undefined || text === '') return { sockets, unusable: [], diagnostics, origin: 'none' };
  for (const part of text.split(',')) {
    const m = /^([^=]+)=(\d{1,5})$/.exec(part.trim());
    if (!m || !NAME_RE.test(m[1]!) || Number(m[2]) < LISTEN_FDS_START) {
      diagnostics.push(
        diagWarning(SOURCE, HANDOVER_FDS_ENV, `expected name=fd (fd ≥ 3), got "${clip(part)}"; this socket is ignored`),
      );
      continue;
    }
    const known = sockets.get(m[1]!);
    if (known === undefined) sockets.set(m[1]!, { fd: Number(m[2]) });
    else if (!socketFds(known).includes(Number(m[2])))
      sockets.set(m[1]!, { fd: known.fd, more: [...(known.more ?? []), Number(m[2])] });
  }
  return { sockets, unusable: [], diagnostics, origin: 'handover' };
}

/**
 * The sockets this process inherited, from a hand-over or from systemd (the hand-over wins: it is
 * set by the berth that started us). The variables are removed from `env` afterwards, so processes
 * berth starts later do not mistake them for their own (as sd_listen_fds(1) does with
 * `unset_environment`).
 */
export function takeInheritedSockets(
  env: NodeJS.ProcessEnv = process.env,
  pid: number = process.pid,
): InheritedSockets {
  const handover = parseHandoverFds(env[HANDOVER_FDS_ENV]);
  const systemd = handover.origin === 'handover' ? undefined : parseSystemdFds(env, pid);
  for (const k of [HANDOVER_FDS_ENV, 'LISTEN_PID', 'LISTEN_FDS', 'LISTEN_FDNAMES']) delete env[k];
  return systemd ?? handover;
}

/** The inherited sockets berth serves, and those it does not (to be closed, with why). */
export interface ClaimedSockets {
  /** By TCP entrypoint name: the sockets an entrypoint adopts. */
  readonly claimed: Map<string, InheritedSocket>;
  /** Descriptors to close: unusable ones and those named for no TCP entrypoint. */
  readonly unclaimedFds: number[];
  /** One per socket named for no TCP entrypoint (its name and fd). */
  readonly diagnostics: Diagnostic[];
}

/**
 * Splits the inherited sockets into those a TCP entrypoint adopts and those nothing will serve: a
 * name that matches no entrypoint (a typo in FileDescriptorName=, an entrypoint removed from the
 * config) or a UDP entrypoint's (it binds its own socket). Held open, such a socket would keep
 * accepting connections into a queue nobody reads.
 */
export function claimSockets(
  inherited: InheritedSockets,
  entrypoints: Readonly<Record<string, Pick<EntryPointConfig, 'protocol'>>>,
): ClaimedSockets {
  const claimed = new Map<string, InheritedSocket>();
  const unclaimedFds = [...inherited.unusable];
  const diagnostics: Diagnostic[] = [];
  const tcp = Object.keys(entrypoints).filter((n) => entrypoints[n]!.protocol === 'tcp');
  for (const [name, s] of inherited.sockets) {
    const ep = entrypoints[name];
    if (ep?.protocol === 'tcp') {
      claimed.set(name, s);
      continue;
    }
    const fds = socketFds(s);
    unclaimedFds.push(...fds);
    const why =
      ep === undefined
        ? `matches no entrypoint (TCP entrypoints: ${tcp.join(', ') || 'none'})`
        : 'names a UDP entrypoint, which binds its own socket';
    diagnostics.push(diagWarning(SOURCE, `fd ${fds.join(', ')}`, `inherited socket "${name}" ${why}; it is closed`));
  }
  return { claimed, unclaimedFds, diagnostics };
}

/** Closes inherited descriptors berth does not serve; returns those that could not be closed, with why. */
export function closeFds(
  fds: readonly number[],
  close: (fd: number) => void = closeSync,
): { fd: number; error: string }[] {
  const failed: { fd: number; error: string }[] = [];
  for (const fd of fds) {
    try {
      close(fd);
    } catch (err) {
      failed.push({ fd, error: (err as Error).message });
    }
  }
  return failed;
}

function clip(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s;
}
