// The input of mask and unmask in front of the statement router: a plain SQL dump, or raw
// COPY data of one table (already started on the router). What is checked on the way in
// (issue 18): the first bytes must not be another form (an archive, compressed data: say
// what to do instead, ../dump/input-form.ts); a plain dump's SQL text must not be binary,
// which shows by its first statement; and a dump that starts like pg_dump's but lacks its
// closing line is warned about as maybe truncated.

import { PgcloakError, type SourcePosition } from '../errors.js';
import { MAGIC_BYTES, refuseBinaryText, refuseOtherForms } from '../dump/input-form.js';
import type { RoutedStatement, StatementRouter } from './statement-router.js';

const DUMP_HEADER = Buffer.from('--\n-- PostgreSQL database dump\n');
const DUMP_TRAILER = Buffer.from('-- PostgreSQL database dump complete');
const TAIL_BYTES = 128;
/** How much of the input's start is looked at for binary bytes, at most (refuseBinaryText). */
const SNIFF_BYTES = 4096;

export class DumpInput {
  private readonly router: StatementRouter;
  /** Raw COPY data: its format (binary data has no magic to refuse), and no SQL text to look at. */
  private readonly rawFormat: string | undefined;
  private readonly warn: (message: string) => void;
  bytesIn = 0;
  private head: Buffer = Buffer.alloc(0);
  /** The first bytes, held until there are MAGIC_BYTES of them to tell another form by (refuseOtherForms); then null. */
  private firstBytes: Buffer[] | null = [];
  private firstBytesLength = 0;
  /** The input's first SNIFF_BYTES, while its SQL text is looked at for binary bytes (sniffText); then null. */
  private sniff: Buffer | null = Buffer.alloc(0);
  /** How much of sniff was looked at. */
  private sniffFrom = 0;
  private tail: Buffer = Buffer.alloc(0);

  /** `rawFormat`: the input is raw COPY data of this format (copy-text, copy-csv, copy-binary), not a dump. */
  constructor(router: StatementRouter, rawFormat: string | undefined, warn: (message: string) => void) {
    this.router = router;
    this.rawFormat = rawFormat;
    this.warn = warn;
    // Binary input shows by its first statement (issue 18: random bytes and executables were
    // SQL_UNTERMINATED); an INSERT's or a COPY's own text is data, and not looked at.
    if (rawFormat === undefined) router.listen({ read: (s) => this.sniffStatement(s) });
  }

  write(chunk: Buffer): void {
    if (this.firstBytes !== null) {
      // Copied: the caller may reuse the chunk's memory once its output is written.
      this.firstBytes.push(Buffer.from(chunk));
      this.firstBytesLength += chunk.length;
      if (this.firstBytesLength < MAGIC_BYTES) return;
      chunk = this.takeFirstBytes();
    }
    if (this.sniff !== null && this.sniff.length < SNIFF_BYTES) this.sniff = Buffer.concat([this.sniff, chunk.subarray(0, SNIFF_BYTES - this.sniff.length)]);
    if (this.head.length < DUMP_HEADER.length) this.head = Buffer.concat([this.head, chunk.subarray(0, DUMP_HEADER.length)]);
    // Copied: the caller may reuse the chunk's memory once its output is written.
    this.tail = chunk.length >= TAIL_BYTES ? Buffer.from(chunk.subarray(chunk.length - TAIL_BYTES)) : Buffer.concat([this.tail, chunk]).subarray(-TAIL_BYTES);
    this.bytesIn += chunk.length;
    try {
      this.router.write(chunk);
    } catch (err) {
      // A first statement that outgrew every limit: binary input never ends one.
      throw err instanceof PgcloakError && err.code === 'STATEMENT_TOO_LARGE' ? this.binaryInstead(err) : err;
    }
  }

  end(): void {
    if (this.firstBytes !== null) {
      const first = this.takeFirstBytes();
      if (first.length > 0) this.write(first);
    }
    try {
      this.router.end();
    } catch (err) {
      throw this.binaryInstead(err);
    }
    // An input without a statement (comments, psql meta-commands, bytes): binary all the same?
    this.sniffText(undefined);
    if (this.head.subarray(0, DUMP_HEADER.length).equals(DUMP_HEADER) && !this.tail.includes(DUMP_TRAILER)) {
      this.warn("the input starts like a pg_dump dump but lacks its 'dump complete' line: it may be truncated");
    }
  }

  /** The first bytes held back (write), now that there are enough of them (or the input ended): refused if they are another form. */
  private takeFirstBytes(): Buffer {
    const first = Buffer.concat(this.firstBytes!);
    this.firstBytes = null;
    refuseOtherForms(first, this.rawFormat);
    return first;
  }

  private sniffStatement(s: RoutedStatement): void {
    if (this.sniff === null) return;
    const at: SourcePosition = s.at;
    this.sniffText(s.keyword === 'INSERT' || s.keyword === 'COPY' ? at.offset : at.offset + s.text.length, s.keyword !== '');
  }

  /**
   * The input's start, up to the end of its first statement (one that begins with a keyword):
   * binary there is refused (refuseBinaryText). SQL text holds no control bytes, but a
   * value may (COPY data, an INSERT's literals, and from there on anything): this is where
   * binary input shows and nothing else does. `to`: the end of what was read so far;
   * undefined: all that was kept (the input ended, or a statement outgrew every limit).
   * `last`: the first statement was read.
   */
  private sniffText(to: number | undefined, last = false): void {
    const sniff = this.sniff;
    if (sniff === null) return;
    const end = Math.min(to ?? sniff.length, sniff.length);
    if (last || end >= SNIFF_BYTES) this.sniff = null;
    if (this.rawFormat !== undefined) return;
    const from = this.sniffFrom;
    this.sniffFrom = end;
    refuseBinaryText(sniff.subarray(0, end), from);
  }

  /** The error to report for `err` from reading SQL text: the input's being binary, if it is. */
  private binaryInstead(err: unknown): unknown {
    try {
      this.sniffText(undefined);
    } catch (binary) {
      return binary;
    }
    return err;
  }
}
