// The row kernel through native/copy_kernel.c (./row-kernel.ts, ./native.ts): for a table
// whose masks it knows (constants, xxx<key>, json placeholders) it masks and restores whole
// batches in a call, and hands each row it leaves (a field count, a value it cannot read, an
// error to report) to the JavaScript kernel, one at a time. A table with other masks is
// JavaScript's throughout. It also walks COPY data lines, vault records and INSERT statements.

import { lineEndAt } from './copy-kernel.js';
import { JS_ROW_KERNEL } from './js-row-kernel.js';
import { RecordShape } from './masked-record.js';
import { eachInsertRow, LONG_ROW_BYTES } from './masked-row.js';
import * as N from './native.js';
import type { InsertWalker, RowKernel, WalkedInserts } from './row-kernel.js';
import type { RowMasker } from './row-masker.js';
import type { ByteArea } from '../io/byte-sink.js';

export class NativeRowKernel implements RowKernel {
  readonly name = 'native';
  readonly masksInsertRuns = true;
  readonly lineCounter;
  readonly recordSkipper;
  readonly insertWalker: InsertWalker;
  /** Per row masker: the kernel's plan for its table (made with its first rows), or null when the kernel cannot do them. */
  private readonly tables = new WeakMap<RowMasker, N.NativeTable | null>();

  constructor(private readonly rows: N.NativeRows) {
    this.lineCounter = N.nativeLineCounter(rows);
    this.recordSkipper = N.nativeRecordSkipper(rows);
    this.insertWalker = insertWalker(rows);
  }

  private tableOf(rm: RowMasker, shape?: RecordShape): N.NativeTable | null {
    let table = this.tables.get(rm);
    if (table === undefined) this.tables.set(rm, (table = N.nativeTable(this.rows, rm, shape ?? new RecordShape(rm.plan))));
    return table;
  }

  maskBatch(...args: Parameters<RowKernel['maskBatch']>): number {
    const [rm, shape, buf, start, end, ordinal0, line0, offset, out, records, general] = args;
    const native = this.tableOf(rm, shape);
    if (!native) return JS_ROW_KERNEL.maskBatch(...args);
    const { rows, plan, state } = native;
    let ordinal = ordinal0;
    let line = line0;
    let pos = start;
    let changed = 0;
    while (pos < end) {
      const status = rows.maskRows(plan, buf, pos, end, ordinal, out.bytes, out.length, records ? records.bytes : null, records ? records.length : 0, state);
      const done = state[N.ROWS]!;
      out.length = state[N.OUT]!;
      if (records) records.length = state[N.RECORDS]!;
      changed += state[N.CHANGED]!;
      ordinal += done;
      line += done;
      pos = state[N.POS]!;
      if (status === N.DONE) break;
      if (status === N.NEED_OUT || status === N.NEED_RECORDS) {
        N.makeRoom(status === N.NEED_OUT ? out : records!, state[N.NEED]!);
        continue;
      }
      // One row the native kernel leaves to JavaScript.
      const lineEnd = lineEndAt(buf, pos, end);
      changed += JS_ROW_KERNEL.maskBatch(rm, shape, buf, pos, lineEnd, ordinal++, line++, offset + (pos - start), out, records, general);
      pos = lineEnd;
    }
    return changed;
  }

  maskInserts(...args: Parameters<RowKernel['maskInserts']>): number {
    const [rm, shape, buf, rows, ordinal0, offsetBase, out, records, general] = args;
    const native = this.tableOf(rm, shape);
    if (!native) return JS_ROW_KERNEL.maskInserts(...args);
    const { plan, state } = native;
    let ordinal = ordinal0;
    return driveInsertKernel(rm, buf, 0, buf.length, rows, out, state, {
      call: (r, pos) => {
        const status = native.rows.maskInserts(plan, buf, rows, r, rows.length, pos, ordinal, out.bytes, out.length, records ? records.bytes : null, records ? records.length : 0, state);
        if (records) records.length = state[N.RECORDS]!;
        ordinal += state[N.ROWS]!;
        return status;
      },
      room: (status) => N.makeRoom(status === N.NEED_OUT ? out : records!, state[N.NEED]!),
      general: (from, to, row) => eachInsertRow(rm, buf, from, to, row, offsetBase, out, (rowStart, rowEnd, at) => general(rowStart, rowEnd, ++ordinal, at)),
    });
  }

  restoreBatch(...args: Parameters<RowKernel['restoreBatch']>): number {
    const [restorer, buf, start, end, records, ordinal0, line0, offset, out] = args;
    const native = this.tableOf(restorer.rm);
    // A long row or record (a document) goes the JavaScript way: its long fields go out as views
    // of it, where the kernel would copy them into the output (issue 18).
    const long = end - start >= LONG_ROW_BYTES || records.length >= LONG_ROW_BYTES;
    if (!native || long) return JS_ROW_KERNEL.restoreBatch(...args);
    const { rows, plan, state } = native;
    const cursor = restorer.cursor;
    cursor.pos = 0;
    let ordinal = ordinal0;
    let line = line0;
    let pos = start;
    let changed = 0;
    while (pos < end) {
      // (A damaged record read here may have taken the cursor past the end: there are no more.)
      const status = rows.restoreRows(plan, buf, pos, end, ordinal, records, Math.min(cursor.pos, records.length), out.bytes, out.length, state);
      const done = state[N.ROWS]!;
      out.length = state[N.OUT]!;
      cursor.pos = state[N.RECORDS]!;
      changed += state[N.CHANGED]!;
      ordinal += done;
      line += done;
      pos = state[N.POS]!;
      if (status === N.DONE) break;
      if (status === N.NEED_OUT) {
        N.makeRoom(out, state[N.NEED]!);
        continue;
      }
      // One row the native kernel leaves here: restored, or the error that says why not.
      const lineEnd = lineEndAt(buf, pos, end);
      changed += restorer.restoreRows(buf, pos, lineEnd, records, ordinal++, line++, offset + (pos - start), out);
      pos = lineEnd;
    }
    return changed;
  }

  restoreInserts(...args: Parameters<RowKernel['restoreInserts']>): number {
    const [restorer, buf, start, end, rows, ordinal0, offsetBase, records, out] = args;
    const native = this.tableOf(restorer.rm);
    if (!native) return JS_ROW_KERNEL.restoreInserts(...args);
    const { plan, state } = native;
    const cursor = restorer.cursor;
    cursor.pos = 0;
    let ordinal = ordinal0;
    return driveInsertKernel(restorer.rm, buf, start, end, rows, out, state, {
      call: (r, pos) => {
        // (A damaged record read here may have taken the cursor past the end: there are no more.)
        const recordsAt = Math.min(cursor.pos, records.length);
        const status = native.rows.restoreInserts(plan, buf, rows, r, rows.length, pos, ordinal, records, recordsAt, out.bytes, out.length, state);
        cursor.pos = state[N.RECORDS]!;
        ordinal += state[N.ROWS]!;
        return status;
      },
      room: () => N.makeRoom(out, state[N.NEED]!),
      // One row the native kernel leaves here: restored, or the error that says why not.
      general: (from, to, row) => eachInsertRow(restorer.rm, buf, from, to, row, offsetBase, out, (rowStart, rowEnd, at) => restorer.restoreNext(buf, rowStart, rowEnd, ++ordinal, records, at, out)),
    });
  }
}

/**
 * Runs a native INSERT kernel (maskInserts, restoreInserts) over the rows of `buf[start..end)`
 * (`rows` as RowKernel.maskInserts takes them): `call(r, pos)` runs it from the row at rows[r],
 * with the text before it from `pos`, and takes what it reports besides the output; the room
 * it asks for is `room`'s to make; a row it leaves goes to `general` (the text from `from`, the
 * row ending at `to`). The text after the last row follows. Returns how many rows changed.
 */
function driveInsertKernel(
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

/** The native walk through INSERT statements (NativeRows.insertRows), its result in one reused object. */
function insertWalker(rows: N.NativeRows): InsertWalker {
  const state = new Float64Array(N.STATE_SIZE);
  const walked: WalkedInserts = { end: 0, rows: 0, statements: 0, lines: 0, needsRows: false };
  return {
    walk(buf, start, end, header, fields, limit, into, rowsAt, shift, line, offset) {
      rows.insertRows(buf, start, end, header, fields, limit, into, rowsAt, shift, line, offset, state);
      walked.end = state[N.POS]!;
      walked.rows = state[N.ROWS]!;
      walked.statements = state[N.STATEMENTS]!;
      walked.lines = state[N.LINES]!;
      walked.needsRows = walked.statements === 0 && state[N.NEED] === N.INSERT_ROOM;
      return walked;
    },
  };
}
