/** Response bodies served by the bench upstream, by path. The same bytes whichever upstream runs. */
export const SMALL_BODY = 'hello, berth\n';
export const BODY_1K = Buffer.alloc(1024, 'a');
export const BODY_1M = Buffer.alloc(1024 * 1024, 'b');

/** Path → body for the upstream. */
export const BODIES: ReadonlyMap<string, string | Buffer> = new Map<string, string | Buffer>([
  ['/', SMALL_BODY],
  ['/1k', BODY_1K],
  ['/1m', BODY_1M],
]);
