/**
 * The access log's writer thread: decodes the captures the request path encoded
 * (access-log-record.ts), formats their lines and appends them to the log file. See
 * access-log-thread.ts for the other side and the messages.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Capture, compileFormatter, type FormatSettings } from './access-log-lines.ts';
import { RecordReader } from './access-log-record.ts';
import { fdSink, LineWriter } from './line-writer.ts';
import type { ThreadData, ToMain, ToThread } from './access-log-thread.ts';

const data = workerData as ThreadData;
const port = parentPort!;
const post = (m: ToMain): void => port.postMessage(m);

const settings: FormatSettings = data.settings;
// The descriptors belong to the request side, which closes them.
const sink = fdSink(data.fd, false);
const writer = new LineWriter<Capture>(sink, {
  bufferLines: data.bufferLines,
  flushMs: data.flushMs,
  maxPendingBytes: data.maxPendingBytes,
  // Batches arrive every few milliseconds already: each is written once it is formatted.
  writeDelayMs: 0,
  onError: (err) => post({ t: 'error', message: err.message }),
}, compileFormatter(settings));
const reader = new RecordReader();
const capture = new Capture();
const push = (c: Capture): void => writer.push(c);

port.on('message', (m: ToThread) => {
  switch (m.t) {
    case 'lines': {
      for (const chunk of m.chunks) {
        try {
          reader.read(chunk, push, capture);
        } catch (err) {
          post({ t: 'error', message: `cannot decode a batch of lines: ${(err as Error).message}` });
        }
      }
      // Acknowledged once written (or failed): the request side keeps the batch until then.
      const id = m.id;
      void writer.drain().then(() => post({ t: 'ack', id }));
      break;
    }
    case 'flush': {
      const id = m.id;
      void writer.drain().then(() => post({ t: 'flushed', id }));
      break;
    }
    case 'reopen':
      // Batches already here went to the old file; the request side closes it once released.
      sink.swap(m.fd, (old) => post({ t: 'released', fd: old }));
      break;
    case 'close':
      void writer.close().then(() => { post({ t: 'closed' }); port.close(); });
      break;
    case 'fail':
      // Tests: the thread dies as an uncaught error would end it.
      throw new Error('access log thread: failure requested');
  }
});
