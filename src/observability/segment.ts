import { type ByteWriter, EMPTY, utf8 } from './byte-writer.ts';

/**
 * The text between two values written in place: fields whose values usually repeat from one line
 * to the next, kept as one prepared fragment — one comparison per value and one copy per line.
 */
export class Segment {
  private readonly last: unknown[];
  private out: Buffer = EMPTY;
  private valid = false;
  private readonly build: (v: readonly unknown[]) => string;

  constructor(arity: number, build: (v: readonly unknown[]) => string) {
    this.last = new Array<unknown>(arity).fill(undefined);
    this.build = build;
  }

  /** `put` for a segment of one value. */
  put1(w: ByteWriter, a: unknown): void {
    const last = this.last;
    if (!this.valid || last[0] !== a) {
      last[0] = a;
      this.valid = true;
      this.out = utf8(this.build(last));
    }
    w.bytes(this.out);
  }

  /** `put` for a segment of two values. */
  put2(w: ByteWriter, a: unknown, b: unknown): void {
    const last = this.last;
    if (!this.valid || last[0] !== a || last[1] !== b) {
      last[0] = a;
      last[1] = b;
      this.valid = true;
      this.out = utf8(this.build(last));
    }
    w.bytes(this.out);
  }

  /** Writes the segment for these values (`vals` is reused by the caller; it is copied on a change). */
  put(w: ByteWriter, vals: readonly unknown[]): void {
    const last = this.last;
    let same = this.valid;
    for (let i = 0; same && i < last.length; i++) same = last[i] === vals[i];
    if (!same) {
      for (let i = 0; i < last.length; i++) last[i] = vals[i];
      this.valid = true;
      this.out = utf8(this.build(vals));
    }
    w.bytes(this.out);
  }
}
