// One row of a planned table masked and recorded: the masked bytes to `out`, the key and
// original fields (and the values written for derived columns) to the vault. The same on
// the main thread and on worker threads, so the output cannot depend on the thread count.

import type { SourcePosition } from '../errors.js';
import type { ByteArea, ByteWriter } from '../io/byte-sink.js';
import { CopyKernel, eachLine } from './copy-kernel.js';
import * as N from './native.js';
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
function copyRow(
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

/** Per row masker: its batch kernel, or null when its fields are not COPY text. */
const kernels = new WeakMap<RowMasker, CopyKernel | null>();

/**
 * Masks a batch of whole COPY text rows (see eachCopyRow), the first being row
 * `ordinal + 1`: with the batch kernel (./copy-kernel.ts) when the recorder takes
 * serialized records (or there is none), else row by row. Returns how many rows changed.
 */
export function maskBatch(
  rm: RowMasker,
  shape: RecordShape,
  buf: Buffer,
  start: number,
  end: number,
  ordinal: number,
  line: number,
  offset: number,
  out: ByteArea,
  vault: RowRecorder | undefined,
): number {
  let kernel = kernels.get(rm);
  if (kernel === undefined) kernels.set(rm, (kernel = CopyKernel.for(rm) ?? null));
  // The kernel serializes records itself: a recorder that takes only row() gets the general path.
  if (kernel && (vault === undefined || vault.serialized)) {
    return kernel.maskBatch(shape, buf, start, end, ordinal, line, offset, out, vault?.serialized, (rowStart, rowEnd, lineEnd, n, at) =>
      copyRow(rm, buf, rowStart, rowEnd, lineEnd, at, out, () => maskRow(rm, shape, n, buf, rowStart, rowEnd, at, out, vault)),
    );
  }
  return eachCopyRow(rm, buf, start, end, line, offset, out, (rowStart, rowEnd, at) => maskRow(rm, shape, ++ordinal, buf, rowStart, rowEnd, at, out, vault));
}

/** Per row masker of INSERT rows: the native kernel's plan, or null (no kernel, or masks it cannot do). */
const insertKernels = new WeakMap<RowMasker, N.NativeTable | null>();

/**
 * Masks a run of INSERT statements `buf` (InsertsJob): per row in `rows`, its start, end,
 * line and offset (less `offsetBase`), then its fields' starts and ends; everything between
 * rows is written as it is. The first row is row `ordinal + 1`. With the native kernel
 * (`kernel`; null: none) when it can, and the recorder takes serialized records or there is
 * none. Returns how many rows changed.
 */
export function maskInsertRun(
  rm: RowMasker,
  shape: RecordShape,
  buf: Buffer,
  rows: Int32Array,
  ordinal: number,
  offsetBase: number,
  out: ByteArea,
  vault: RowRecorder | undefined,
  kernel: N.NativeRows | null = N.nativeRows() ?? null,
): number {
  let native = kernel ? insertKernels.get(rm) : null;
  if (native === undefined) insertKernels.set(rm, (native = N.nativeTable(kernel, rm, shape)));
  const general = (rowStart: number, rowEnd: number, at: SourcePosition): boolean => maskRow(rm, shape, ++ordinal, buf, rowStart, rowEnd, at, out, vault);
  if (!native || (vault !== undefined && !vault.serialized)) return eachInsertRow(rm, buf, 0, buf.length, rows, offsetBase, out, general);
  const records = vault?.serialized;
  const { plan, state } = native;
  return driveInsertKernel(rm, buf, 0, buf.length, rows, out, state, {
    call: (r, pos) => {
      const status = native.rows.maskInserts(plan, buf, rows, r, rows.length, pos, ordinal, out.bytes, out.length, records ? records.bytes : null, records ? records.length : 0, state);
      if (records) records.length = state[N.RECORDS]!;
      ordinal += state[N.ROWS]!;
      return status;
    },
    room: (status) => N.makeRoom(status === N.NEED_OUT ? out : records!, state[N.NEED]!),
    general: (from, to, row) => eachInsertRow(rm, buf, from, to, row, offsetBase, out, general),
  });
}

/**
 * Runs a native INSERT kernel (maskInserts, restoreInserts) over the rows of `buf[start..end)`
 * (`rows` as maskInsertRun takes them): `call(r, pos)` runs it from the row at rows[r], with
 * the text before it from `pos`, and takes what it reports besides the output; the room it
 * asks for is `room`'s to make; a row it leaves goes to `general` (the text from `from`, the
 * row ending at `to`). The text after the last row follows. Returns how many rows changed.
 */
export function driveInsertKernel(
  rm: RowMasker,
  buf: Buffer,
  start: number,
  end: number,
  rows: Int32Array,
  out: ByteArea,
  state: Float64Array,
  kernel: { call: (r: number, pos: number) => number; room: (status: number) => void; general: (from: number, to: number, row: Int32Array) => number },
): number {
  const stride = 4 + 2 * rm.starts.length;
  let changed = 0;
  let pos = start;
  let r = 0;
  while (r < rows.length) {
    const status = kernel.call(r, pos);
    out.length = state[N.OUT]!;
    changed += state[N.CHANGED]!;
    const next = state[N.POS]!;
    // The rows done end where the next one's text starts.
    if (next > r) pos = rows[next - stride + 1]!;
    r = next;
    if (status === N.DONE) break;
    if (status === N.NEED_OUT || status === N.NEED_RECORDS) {
      kernel.room(status);
      continue;
    }
    // One row the native kernel leaves to JavaScript, with the text before it.
    changed += kernel.general(pos, rows[r + 1]!, rows.subarray(r, r + stride));
    pos = rows[r + 1]!;
    r += stride;
  }
  out.write(buf, pos, end);
  return changed;
}

/**
 * Each row of INSERT statements `buf[start..end)` (`rows` as maskInsertRun takes them): its
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
