/**
 * Where the entrypoints berth makes from `edge` listen (`edge.bindAddress`). On a NAT'd cloud VM the
 * public address (`edge.publicIPv4`) is on no interface of the host, so binding it fails; the
 * default then is every IPv4 address, with a notice.
 */
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { BlockList, isIP } from 'node:net';
import { diagWarning, type Diagnostic } from '../../lib/diagnostics.ts';
import type { EdgeConfig } from './types.ts';

/** The addresses of this host's interfaces, as `os.networkInterfaces()` lists them. */
export type InterfaceList = NodeJS.Dict<NetworkInterfaceInfo[]>;

/**
 * Whether `ip` can be bound on this host: an address of one of its interfaces, or any address in a
 * loopback interface's range (Linux answers the whole of 127.0.0.0/8 on `lo`).
 */
export function isLocalAddress(ip: string, interfaces: InterfaceList = networkInterfaces()): boolean {
  const family = isIP(ip);
  if (family === 0) return false;
  const loopback = new BlockList();
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.address === ip) return true;
      if (!a.internal || a.cidr === null) continue;
      const [net, bits] = a.cidr.split('/');
      if (net !== undefined && bits !== undefined)
        loopback.addSubnet(net, Number(bits), a.family === 'IPv4' ? 'ipv4' : 'ipv6');
    }
  }
  return loopback.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/**
 * `edge` with `bindAddress` filled in: as given, else `publicIPv4` when this host has it, else
 * `0.0.0.0` — with a warning naming the address that is not local, so the operator knows why.
 */
export function withBindAddress(
  edge: EdgeConfig,
  source: string,
  diagnostics: Diagnostic[],
  interfaces?: InterfaceList,
): EdgeConfig {
  if (edge.bindAddress !== undefined) return edge;
  const ip = edge.publicIPv4;
  if (ip === undefined || isLocalAddress(ip, interfaces)) return { ...edge, bindAddress: ip ?? '0.0.0.0' };
  diagnostics.push(
    diagWarning(
      source,
      'edge.bindAddress',
      `edge.publicIPv4 ${ip} is not an address of this host (NAT): the generated entrypoints listen on 0.0.0.0; set edge.bindAddress to choose the address`,
    ),
  );
  return { ...edge, bindAddress: '0.0.0.0' };
}

/** The host edge-made entrypoints bind (always set after decoding; `0.0.0.0` otherwise). */
export function bindHost(edge: Pick<EdgeConfig, 'bindAddress'>): string {
  return edge.bindAddress ?? '0.0.0.0';
}
