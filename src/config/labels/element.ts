/** What each decoding stage contributes: named elements of the dynamic configuration. */
import type { Diagnostic } from '../../lib/diagnostics.ts';

/** Where an element goes in the dynamic configuration. */
export type Section =
  | 'http.routers'
  | 'http.services'
  | 'http.middlewares'
  | 'http.serversTransports'
  | 'tcp.routers'
  | 'tcp.services'
  | 'tcp.middlewares'
  | 'tcp.serversTransports'
  | 'udp.routers'
  | 'udp.services';

/** One element a container defines, before merging with the other containers. */
export interface Element {
  readonly section: Section;
  readonly name: string;
  readonly value: Record<string, unknown>;
}

/** A container's contribution: its elements and the problems found while building them. */
export interface Contribution {
  readonly elements: Element[];
  readonly diagnostics: Diagnostic[];
}

/** `http.routers` → `router`, for messages. */
export function sectionNoun(section: Section): string {
  const [proto, kind] = section.split('.') as [string, string];
  const noun = kind === 'serversTransports' ? 'serversTransport' : kind.replace(/s$/, '');
  return proto === 'http' ? noun : `${proto.toUpperCase()} ${noun}`;
}
