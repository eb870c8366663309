import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { connectionBytes, startSides, type Sides } from './differential.ts';

/**
 * Differential fuzzing, bounded for `npm test` (the long run is `node bench/fuzz.ts`): generated
 * and mutated requests (pipelined, chunked, conflicting lengths, bad versions, stray CR/LF…) go
 * to node:http and to berth's engine; the requests node:http's application sees and those the
 * engine forwards must be the same, in the same order, with the same bodies.
 */
describe('differential: the engine parses and frames exactly as node:http', { timeout: 300_000 }, () => {
  let sides: Sides;
  before(async () => {
    sides = await startSides();
  });
  after(async () => {
    await sides.close();
  });

  test('the same bytes reach the application the same way', async () => {
    await fc.assert(
      fc.asyncProperty(connectionBytes, async (bytes) => {
        const { node, engine } = await sides.compare(bytes);
        assert.deepEqual(engine, node, `bytes: ${JSON.stringify(bytes.toString('latin1'))}`);
      }),
      { numRuns: Number(process.env.FUZZ_HTTP_RUNS ?? 150) },
    );
  });

  test('fixed cases of the same property: smuggling shapes', async () => {
    const cases = [
      'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGET /smuggled HTTP/1.1\r\nHost: h\r\n\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 30\r\n\r\nabcGET /s HTTP/1.1\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding:\r\n chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'GET / HTTP/1.1\nHost: h\n\nGET /lf HTTP/1.1\r\nHost: h\r\n\r\n',
      'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;x=\r\nabc\r\n0\r\n\r\n',
      'POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\nContent-Length: 100\r\n\r\nGET /after HTTP/1.1\r\n\r\n',
      'GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\n\r\nPOST /e HTTP/1.1\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nxGET /f HTTP/1.1\r\n\r\n',
    ];
    for (const c of cases) {
      const { node, engine } = await sides.compare(Buffer.from(c, 'latin1'));
      assert.deepEqual(engine, node, JSON.stringify(c));
    }
  });
});
