import { readFileSync } from 'node:fs';
import { errorMessage } from './errors.ts';

/**
 * A serversTransport's `rootCAs`: each entry is inline PEM or a file to read. HTTP and TCP
 * transports take the same list, so one reader gives both the same error for an unreadable file.
 */
export function readRootCAs(list: readonly string[] | undefined): { ca: string[] } | { error: string } {
  const ca: string[] = [];
  for (const c of list ?? []) {
    if (c.includes('-----BEGIN')) {
      ca.push(c);
      continue;
    }
    try {
      ca.push(readFileSync(c, 'utf8'));
    } catch (err) {
      return { error: `serversTransport rootCAs ${c}: ${errorMessage(err)}` };
    }
  }
  return { ca };
}
