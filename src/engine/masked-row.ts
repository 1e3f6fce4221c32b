// One row of a planned table masked and recorded: the masked bytes to `out`, the key and
// original fields (and the values written for derived columns) to the vault. The same on
// the main thread and on worker threads, so the output cannot depend on the thread count.

import type { SourcePosition } from '../errors.js';
import type { ByteArea, ByteWriter } from '../io/byte-sink.js';
import { eachLine } from './copy-kernel.js';
import { serializeRecord, type RecordShape } from './masked-record.js';
import type { FieldRef, RowMasker } from './row-masker.js';


/**
 * A row (or INSERT statement, or vault record) this long is masked and restored on the main
 * thread the general way, with nothing waiting if it can (DumpProcessor.settle): a value of
 * hundreds of MB (a document) then costs its size about twice in memory, not once per copy
 * the batch paths and worker threads make (issue 18).
 */
export const LONG_ROW_BYTES = 1024 * 1024;

export interface RowRecorder {
  row(tableIndex: number, ordinal: number, fields: ReadonlyArray<FieldRef>): void;
  /** Where records can be serialized directly (a RecordBuffer's): saves a FieldRef per field. */
  readonly serialized?: ByteArea;
}

/**
 * Masks the row `buf[start..end)` whose fields are set in `rm` (without its line end),
 * writes it to `out` and its record to `vault`. Returns whether any field changed.
 */
export function maskRow(
  rm: RowMasker,
  shape: RecordShape,
  ordinal: number,
  buf: Buffer,
  start: number,
  end: number,
  at: SourcePosition,
  out: ByteWriter,
  vault: RowRecorder | undefined,
): boolean {
  rm.beginRow(buf, ordinal);
  const changed = rm.writeMasked(start, end, out, at);
  if (vault?.serialized) {
    serializeRecord(vault.serialized, rm, shape, ordinal, buf, start, end);
  } else if (vault) {
    const plan = rm.plan;
    const refs = shape.refs;
    let r = 0;
    for (const i of plan.keyIndexes) setRef(refs[r++]!, buf, rm.starts[i]!, rm.ends[i]!);
    for (const m of plan.masked) setRef(refs[r++]!, buf, rm.starts[m.index]!, rm.ends[m.index]!);
    for (const j of shape.derived) setRef(refs[r++]!, rm.writtenBuf[j]!, 0, rm.writtenLen[j]!);
    vault.row(plan.index, ordinal, refs);
  }
  return changed;
}

function setRef(ref: FieldRef, buf: Uint8Array, start: number, end: number): void {
  ref.buf = buf;
  ref.start = start;
  ref.end = end;
}

/**
 * Each row of a batch of whole COPY text rows `buf[start..end)` (each with its line end;
 * the last may lack it), the first at `line`/`offset` of the input: its fields are split
 * into `rm`, `row` writes it (and says whether masking changed it), and its line end
 * follows. Returns how many rows changed.
 */
export function eachCopyRow(
  rm: RowMasker,
  buf: Buffer,
  start: number,
  end: number,
  line: number,
  offset: number,
  out: ByteWriter,
  row: (rowStart: number, rowEnd: number, at: SourcePosition) => boolean,
): number {
  return eachLine(buf, start, end, line, offset, (pos, rowEnd, lineEnd, at) => copyRow(rm, buf, pos, rowEnd, lineEnd, at, out, row));
}

/** One COPY text row of eachCopyRow: its fields split into `rm`, `row` writes it, its line end follows. */
export function copyRow(
  rm: RowMasker,
  buf: Buffer,
  rowStart: number,
  rowEnd: number,
  lineEnd: number,
  at: SourcePosition,
  out: ByteWriter,
  row: (rowStart: number, rowEnd: number, at: SourcePosition) => boolean,
): boolean {
  rm.splitCopyRow(buf, rowStart, rowEnd, at);
  const changed = row(rowStart, rowEnd, at);
  out.write(buf, rowEnd, lineEnd);
  return changed;
}

/**
 * Each row of INSERT statements `buf[start..end)` (`rows` as RowKernel.maskInserts takes them): its
 * fields are set in `rm`, the text before it is written, then `row` writes it (and says
 * whether masking changed it); the text after the last row follows. Returns how many rows changed.
 */
export function eachInsertRow(
  rm: RowMasker,
  buf: Buffer,
  start: number,
  end: number,
  rows: Int32Array,
  offsetBase: number,
  out: ByteWriter,
  row: (rowStart: number, rowEnd: number, at: SourcePosition) => boolean,
): number {
  const n = rm.starts.length;
  const stride = 4 + 2 * n;
  const at = { line: 0, offset: 0 };
  let pos = start;
  let changed = 0;
  for (let r = 0; r < rows.length; r += stride) {
    const rowStart = rows[r]!;
    const rowEnd = rows[r + 1]!;
    at.line = rows[r + 2]!;
    at.offset = offsetBase + rows[r + 3]!;
    for (let i = 0; i < n; i++) {
      rm.starts[i] = rows[r + 4 + i]!;
      rm.ends[i] = rows[r + 4 + n + i]!;
    }
    out.write(buf, pos, rowStart);
    if (row(rowStart, rowEnd, at)) changed++;
    pos = rowEnd;
  }
  out.write(buf, pos, end);
  return changed;
}
