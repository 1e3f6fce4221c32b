// The binding to the native COPY kernel (native/copy_kernel.c, built at install by
// scripts/build-native.js), when it was built and is not turned off (PGCLOAK_NATIVE=0): its
// calls and their state arrays, and the adapters the statement scanner and the vault reader
// take. The row kernel over it is ./native-row-kernel.ts; without it everything runs in
// JavaScript (./js-row-kernel.ts), with the same bytes.

import { createRequire } from 'node:module';
import { MAX_RECORD_BYTES } from '../vault/row-record.js';
import type { ByteArea } from '../io/byte-sink.js';
import type { CopyLineCounter } from '../dump/sql-scanner.js';
import type { RowRecordSkipper } from '../vault/reader.js';
import type { RecordShape } from './masked-record.js';
import { GENERAL, type RowMasker } from './row-masker.js';

/** A table's plan, made by createPlan and read only by maskRows and restoreRows. */
export type NativePlan = { readonly __nativePlan: unique symbol };

export interface NativeRows {
  readonly apiVersion: number;
  createPlan(
    columns: number,
    tableIndex: number,
    keyIndex: number,
    recordColumns: Int32Array,
    masked: Int32Array,
    kinds: Uint8Array,
    maxLength: Int32Array,
    constants: readonly (Buffer | null)[],
    nulls: readonly Buffer[],
    derived: Int32Array,
    maxRecord: number,
    literal: boolean,
  ): NativePlan;
  maskRows(
    plan: NativePlan,
    buf: Buffer,
    start: number,
    end: number,
    ordinal: number,
    out: Buffer,
    outLength: number,
    records: Buffer | null,
    recordsLength: number,
    state: Float64Array,
  ): number;
  /**
   * The rows of a run of INSERT statements (InsertsJob.rows, from index `rowsAt` to
   * `rowsEnd`), each with the text before it from `pos`, as maskRows does for COPY rows
   * (a plan made with `literal`); state[POS] is the index of the row it stopped at. The
   * text after the last row is the caller's to write.
   */
  maskInserts(
    plan: NativePlan,
    buf: Buffer,
    rows: Int32Array,
    rowsAt: number,
    rowsEnd: number,
    pos: number,
    ordinal: number,
    out: Buffer,
    outLength: number,
    records: Buffer | null,
    recordsLength: number,
    state: Float64Array,
  ): number;
  restoreRows(
    plan: NativePlan,
    buf: Buffer,
    start: number,
    end: number,
    ordinal: number,
    records: Uint8Array,
    recordsStart: number,
    out: Buffer,
    outLength: number,
    state: Float64Array,
  ): number;
  /**
   * The rows of a run of masked INSERT statements (rows as maskInserts takes them), each
   * with the text before it from `pos`, as restoreRows does for COPY rows (a plan made with
   * `literal`); state[POS] is the index of the row it stopped at. The text after the last
   * row is the caller's to write.
   */
  restoreInserts(
    plan: NativePlan,
    buf: Buffer,
    rows: Int32Array,
    rowsAt: number,
    rowsEnd: number,
    pos: number,
    ordinal: number,
    records: Uint8Array,
    recordsStart: number,
    out: Buffer,
    outLength: number,
    state: Float64Array,
  ): number;
  countLines(buf: Buffer, start: number, end: number, limit: number, state: Float64Array): void;
  /**
   * From records[start], at most `count` whole, well-formed row records of one table, up to
   * `end`: state[POS] where they end, state[ROWS] how many, state[TABLE] their table index
   * (-1: none). It stops before anything else, which is the caller's to read.
   */
  skipRows(records: Uint8Array, start: number, end: number, count: number, state: Float64Array): void;
  /**
   * From the statement at `start`, the INSERT statements that begin with `header` and whose
   * rows are plain (native/copy_kernel.c says what that is), into `rows` from `rowsAt` as
   * InsertsJob.rows holds them (positions plus `shift`; offsets plus `offset`, the offset of
   * buf[0] from the run's base, kept to 32 bits). state: POS after the last `;` taken, ROWS
   * rows, STATEMENTS statements, LINES line ends passed, NEED INSERT_ROOM when `rows` lacked room.
   */
  insertRows(
    buf: Buffer,
    start: number,
    end: number,
    header: Buffer,
    fields: number,
    limit: number,
    rows: Int32Array,
    rowsAt: number,
    shift: number,
    line: number,
    offset: number,
    state: Float64Array,
  ): void;
}

/** What maskRows and restoreRows return. */
export const DONE = 0;
/** The row at state[POS] (unmasking: its record at state[RECORDS]) is JavaScript's to do. */
export const ROW_FOR_JS = 1;
/** The output needs state[NEED] bytes of room. */
export const NEED_OUT = 2;
/** The records need state[NEED] bytes of room (masking). */
export const NEED_RECORDS = 3;

/** Where a kernel got to, in its state array. */
export const POS = 0;
export const ROWS = 1;
export const OUT = 2;
export const RECORDS = 3;
export const CHANGED = 4;
export const NEED = 5;
export const STATE_SIZE = 6;
/** insertRows: the statements taken, the line ends passed, and NEED when it stopped for room in `rows`. */
export const STATEMENTS = OUT;
export const LINES = RECORDS;
export const INSERT_ROOM = 1;
/** skipRows: the table index of the records it took. */
export const TABLE = OUT;

const BINARY = '../../build/Release/pgcloak_native.node';
/** native/copy_kernel.c's API_VERSION: a binary left from other sources (a checkout updated without `npm run install`) is not used. */
const NATIVE_API = 6;

let loaded: { rows: NativeRows | undefined; status: string } | undefined;

function load(): { rows: NativeRows | undefined; status: string } {
  if (process.env['PGCLOAK_NATIVE'] === '0') return { rows: undefined, status: 'off (PGCLOAK_NATIVE=0)' };
  let rows: NativeRows;
  try {
    rows = createRequire(import.meta.url)(BINARY) as NativeRows;
  } catch {
    return { rows: undefined, status: 'not built' };
  }
  if (rows.apiVersion !== NATIVE_API) return { rows: undefined, status: 'stale (npm run install rebuilds it)' };
  return { rows, status: 'native' };
}

/** The native kernel, or undefined (not built, or turned off). */
export function nativeRows(): NativeRows | undefined {
  loaded ??= load();
  return loaded.rows;
}

/** Which COPY kernel runs: 'native', 'not built', 'stale (…)', 'off (PGCLOAK_NATIVE=0)'. */
export function nativeStatus(): string {
  loaded ??= load();
  return loaded.status;
}

/** The statement scanner's line counter, done by the native kernel (default: the one built, if any). */
export function nativeLineCounter(rows: NativeRows | undefined = nativeRows()): CopyLineCounter | undefined {
  if (!rows) return undefined;
  const state = new Float64Array(STATE_SIZE);
  return {
    countLines(buf, start, end, limit, counted) {
      rows.countLines(buf, start, end, limit, state);
      counted.lines = state[ROWS]!;
      counted.end = state[POS]!;
    },
  };
}

/** The vault reader's row record skipper, done by the native kernel (default: the one built, if any). */
export function nativeRecordSkipper(rows: NativeRows | undefined = nativeRows()): RowRecordSkipper | undefined {
  if (!rows) return undefined;
  const state = new Float64Array(STATE_SIZE);
  return {
    skipRows(records, start, end, count, skipped) {
      rows.skipRows(records, start, end, count, state);
      skipped.rows = state[ROWS]!;
      skipped.end = state[POS]!;
      skipped.table = state[TABLE]!;
    },
  };
}

/** What a kernel keeps for one table: the native kernel, its plan, and the array it reports in. */
export interface NativeTable {
  rows: NativeRows;
  plan: NativePlan;
  state: Float64Array;
}

/**
 * The native kernel's plan for rm's table (COPY text or SQL literal fields), when there is a
 * kernel and every masked column is a constant, xxx<key> or a json placeholder; else null.
 */
export function nativeTable(rows: NativeRows | null, rm: RowMasker, shape: RecordShape): NativeTable | null {
  if (!rows || rm.nativeKind.some((k) => k === GENERAL)) return null;
  const plan = rm.plan;
  const masked = Int32Array.from(plan.masked, (m) => m.index);
  const constants = rm.constants.map((c) => c ?? null);
  const made = rows.createPlan(
    rm.starts.length,
    shape.tableIndex,
    plan.keyIndexes[0] ?? -1,
    shape.columns,
    masked,
    rm.nativeKind,
    rm.maxLength,
    constants,
    rm.nulls,
    shape.derived,
    MAX_RECORD_BYTES,
    rm.literal,
  );
  return { rows, plan: made, state: new Float64Array(STATE_SIZE) };
}

/** The room a kernel asked for (NEED_OUT, NEED_RECORDS) in `area`. */
export function makeRoom(area: ByteArea, need: number): void {
  area.reserve(need);
  if (area.bytes.length - area.length < need) throw new Error('no room made for the native kernel');
}
