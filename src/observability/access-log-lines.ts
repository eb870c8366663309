/**
 * The access log's line formatters: one per format, compiled from the static configuration.
 *
 * The line writer formats a batch of captures (`capture.ts`) into the write buffer's bytes just
 * before the batch is written; see `compile-json-batch.ts` and `compile-common-batch.ts` for how
 * each format keeps the per-line work small.
 */
import type { CoreField, FieldMode } from './access-log-format.ts';
import { ByteWriter } from './byte-writer.ts';
import type { Capture, CaptureFormatter } from './capture.ts';
import { compileCommonBatch } from './compile-common-batch.ts';
import { compileJsonBatch } from './compile-json-batch.ts';

/** What the formatters need from the static configuration. */
export interface FormatSettings {
  readonly format: 'json' | 'common' | 'generic';
  /** Mode of every core field (drop, keep, redact). */
  readonly modes: Readonly<Record<CoreField, FieldMode>>;
  /** The header fields' default mode and explicit modes (lower-case names). */
  readonly headerDefault: FieldMode;
  readonly headerNames: ReadonlyMap<string, FieldMode>;
}

/** A batch as a string (tests, tools). */
export function formatToString(format: CaptureFormatter, caps: readonly Capture[]): string {
  const w = new ByteWriter();
  format(caps, w);
  return Buffer.concat(w.take()).toString('utf8');
}

/** Builds the formatter of a configuration. */
export function compileFormatter(s: FormatSettings): CaptureFormatter {
  return s.format === 'json'
    ? compileJsonBatch(s.modes, s.headerDefault, s.headerNames)
    : compileCommonBatch(s.modes, s.headerDefault, s.headerNames, s.format === 'generic');
}
