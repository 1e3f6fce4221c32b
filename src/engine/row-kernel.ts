// The row kernel: what masks and restores the rows of one table many at a time, the one
// interface mask, unmask and the row workers call, whichever implementation runs. There are
// two, with the same bytes (test/mask/native-kernel.test.ts compares them):
//   JavaScript  ./js-row-kernel.ts: the COPY batch path (./copy-kernel.ts), else row by row;
//   native      ./native-row-kernel.ts: native/copy_kernel.c (./native.ts) does the rows of a
//               table whose masks it knows and hands each row it leaves to JavaScript's; it
//               also walks COPY lines, vault records and INSERT statements.
// A run chooses one, once (./kernel-choice.ts). Below, the ways into it that also take rows
// no kernel does: rows of other fields, and recorders that take no serialized records.

import type { SourcePosition } from '../errors.js';
import type { CopyLineCounter } from '../dump/sql-scanner.js';
import type { ByteArea } from '../io/byte-sink.js';
import type { RowRecordSkipper } from '../vault/reader.js';
import { CopyKernel, type GeneralRow } from './copy-kernel.js';
import type { RecordShape } from './masked-record.js';
import { eachCopyRow, eachInsertRow, maskRow, copyRow, type RowRecorder } from './masked-row.js';
import type { RowMasker } from './row-masker.js';
import type { RowRestorer } from './row-restorer.js';

/** The general path for one row of an INSERT run: writes the row `buf[rowStart..rowEnd)` (fields set in the row masker) and its record; says whether it changed. */
export type GeneralInsertRow = (rowStart: number, rowEnd: number, ordinal: number, at: SourcePosition) => boolean;

export interface RowKernel {
  readonly name: 'native' | 'JavaScript';
  /**
   * Runs of INSERT rows are worth gathering for it: it masks a run in one call, faster than
   * row by row (without it, and without workers, INSERT rows are masked one at a time).
   */
  readonly masksInsertRuns: boolean;
  /**
   * Whole COPY text rows of rm's table (every field COPY text) `buf[start..end)`, each with
   * its line end (the last may lack it), the first being row `ordinal + 1` at `line`/`offset`:
   * masked into `out`, their records serialized into `records` (undefined: no vault). A row
   * it cannot do goes to `general`. Returns how many rows changed.
   */
  maskBatch(
    rm: RowMasker,
    shape: RecordShape,
    buf: Buffer,
    start: number,
    end: number,
    ordinal: number,
    line: number,
    offset: number,
    out: ByteArea,
    records: ByteArea | undefined,
    general: GeneralRow,
  ): number;
  /**
   * A run of INSERT statements `buf` (InsertsJob): per row in `rows` its start, end, line and
   * offset (less `offsetBase`), then its fields' starts and ends; the text between rows is
   * written as it is. The first row is row `ordinal + 1`; records as for maskBatch; a row it
   * cannot do goes to `general`. Returns how many rows changed.
   */
  maskInserts(
    rm: RowMasker,
    shape: RecordShape,
    buf: Buffer,
    rows: Int32Array,
    ordinal: number,
    offsetBase: number,
    out: ByteArea,
    records: ByteArea | undefined,
    general: GeneralInsertRow,
  ): number;
  /**
   * A batch of whole masked COPY text rows and their vault records (as the vault holds them,
   * fewer when it had no more row records): their originals to `out`, each checked (see
   * RowRestorer). Returns how many rows masking had changed.
   */
  restoreBatch(restorer: RowRestorer, buf: Buffer, start: number, end: number, records: Uint8Array, ordinal: number, line: number, offset: number, out: ByteArea): number;
  /** The rows of masked INSERT statements `buf[start..end)` (`rows` as maskInserts takes them), restored as restoreBatch does. */
  restoreInserts(restorer: RowRestorer, buf: Buffer, start: number, end: number, rows: Int32Array, ordinal: number, offsetBase: number, records: Uint8Array, out: ByteArea): number;
  /** The statement scanner's walk through COPY data lines, many at a time (none: line by line). */
  readonly lineCounter: CopyLineCounter | undefined;
  /** The vault reader's walk over row records (none: one at a time). */
  readonly recordSkipper: RowRecordSkipper | undefined;
  /** The walk that takes whole INSERT statements with a known header (none: statement by statement). */
  readonly insertWalker: InsertWalker | undefined;
}

/** What InsertWalker.walk took. */
export interface WalkedInserts {
  /** Where the last statement taken ends (after its `;`). */
  end: number;
  rows: number;
  statements: number;
  /** Line ends passed. */
  lines: number;
  /** It stopped, having taken nothing, for want of room in `rows`. */
  needsRows: boolean;
}

export interface InsertWalker {
  /**
   * From the statement at `buf[start]`, the INSERT statements that begin with `header` and
   * whose rows are plain, at most `limit` bytes of them, their rows into `rows` from `rowsAt`
   * as InsertsJob.rows holds them (positions plus `shift`; offsets plus `offset`, the offset
   * of buf[0] from the run's base). The result is valid until the next call.
   */
  walk(buf: Buffer, start: number, end: number, header: Buffer, fields: number, limit: number, rows: Int32Array, rowsAt: number, shift: number, line: number, offset: number): WalkedInserts;
}

/**
 * Masks a batch of whole COPY text rows (see RowKernel.maskBatch) with `vault` recording:
 * through the kernel when the fields are COPY text and the recorder takes serialized records
 * (or there is none), else row by row. Returns how many rows changed.
 */
export function maskBatch(
  kernel: RowKernel,
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
  // The kernels serialize records themselves: a recorder that takes only row() gets the general path.
  if (CopyKernel.for(rm) && (vault === undefined || vault.serialized)) {
    return kernel.maskBatch(rm, shape, buf, start, end, ordinal, line, offset, out, vault?.serialized, (rowStart, rowEnd, lineEnd, n, at) =>
      copyRow(rm, buf, rowStart, rowEnd, lineEnd, at, out, () => maskRow(rm, shape, n, buf, rowStart, rowEnd, at, out, vault)),
    );
  }
  return eachCopyRow(rm, buf, start, end, line, offset, out, (rowStart, rowEnd, at) => maskRow(rm, shape, ++ordinal, buf, rowStart, rowEnd, at, out, vault));
}

/**
 * Masks a run of INSERT statements (see RowKernel.maskInserts) with `vault` recording:
 * through the kernel when the recorder takes serialized records (or there is none), else
 * row by row. Returns how many rows changed.
 */
export function maskInsertRun(
  kernel: RowKernel,
  rm: RowMasker,
  shape: RecordShape,
  buf: Buffer,
  rows: Int32Array,
  ordinal: number,
  offsetBase: number,
  out: ByteArea,
  vault: RowRecorder | undefined,
): number {
  const general: GeneralInsertRow = (rowStart, rowEnd, n, at) => maskRow(rm, shape, n, buf, rowStart, rowEnd, at, out, vault);
  if (vault !== undefined && !vault.serialized) return eachInsertRow(rm, buf, 0, buf.length, rows, offsetBase, out, (rowStart, rowEnd, at) => general(rowStart, rowEnd, ++ordinal, at));
  return kernel.maskInserts(rm, shape, buf, rows, ordinal, offsetBase, out, vault?.serialized, general);
}
