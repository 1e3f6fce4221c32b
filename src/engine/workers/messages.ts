// What the main thread and the row workers say to each other. Everything here is plain
// data (structured clone); row bytes travel as transferred ArrayBuffers, not copies.

import type { ErrorCode, Position } from '../../errors.js';
import type { FieldEncoding } from '../field-codecs.js';
import type { MaskedField, TablePlan } from '../table-plans.js';

/** A TablePlan without its masks (the worker prepares them from their specs), and the dump's encoding. */
export interface PlanSpec extends Omit<TablePlan, 'masked'> {
  masked: readonly Omit<MaskedField, 'mask'>[];
  /** The dump's client_encoding when the COPY began (UTF8, LATIN1, …). */
  encoding: string;
  /** How its fields are written: COPY text, or SQL literals (INSERT). */
  fields: 'copy-text' | 'sql-literal';
  /** standard_conforming_strings when the plan was made (constants are encoded with it). */
  standardStrings: boolean;
}

export interface WorkerInit {
  /** The key of keyed strategies (pseudonym, hash), if the run has one: the worker wipes it on 'close'. */
  secret: Uint8Array | undefined;
}

/**
 * Whole COPY text rows of one planned table, each with its line end (the last may lack
 * it), in `input[0..inputLength)`. The three buffers are a slot shared with the main
 * thread: the worker writes the masked rows and their records into `out` and `records`,
 * or into larger buffers of its own that it hands back.
 */
export interface RowsJob {
  type: 'rows';
  seq: number;
  plan: number;
  input: SharedArrayBuffer;
  inputLength: number;
  out: SharedArrayBuffer;
  records: SharedArrayBuffer;
  /** Ordinal of the row before the first (rows are numbered from 1 per COPY block). */
  ordinal: number;
  /** Where the first row starts in the input. */
  line: number;
  offset: number;
  /** Write vault records (false for a dry run without a vault). */
  record: boolean;
  /** Memory of an earlier reply's frame, handed back for this job's records (transferred). */
  frame?: ArrayBuffer | undefined;
}

/**
 * Unmask: whole masked COPY text rows in `input`, their vault row records (as the vault
 * holds them) in `records[0..recordsLength)`; the original rows go to `out`.
 */
export interface RestoreJob {
  type: 'restore';
  seq: number;
  plan: number;
  input: SharedArrayBuffer;
  inputLength: number;
  records: SharedArrayBuffer;
  recordsLength: number;
  out: SharedArrayBuffer;
  ordinal: number;
  line: number;
  offset: number;
}

/**
 * INSERT statements as they stand in the dump, `input[0..inputLength)`, with the rows of
 * one plan to mask in them: per row `rowStart, rowEnd, line, offset` (its stream offset less
 * `offsetBase`: 32 bits hold a run, not a dump), then the start and end of each field
 * (offsets in the input). Everything else is written as it is.
 */
export interface InsertsJob {
  type: 'inserts';
  seq: number;
  plan: number;
  input: SharedArrayBuffer;
  inputLength: number;
  /** The rows' offsets, `new Int32Array(rows, 0, rowsLength)`. */
  rows: SharedArrayBuffer;
  rowsLength: number;
  out: SharedArrayBuffer;
  records: SharedArrayBuffer;
  ordinal: number;
  /** Added to each row's offset in `rows`. */
  offsetBase: number;
  /** The string settings the rows were read with: standard_conforming_strings, client_encoding. */
  standardStrings: boolean;
  encoding: string;
  record: boolean;
  frame?: ArrayBuffer | undefined;
}

/** A leaf of the run's output (or input) digest to hash between batches (../../vault/digest.ts). */
export interface LeafJob {
  type: 'leaf';
  seq: number;
  leaf: SharedArrayBuffer;
  length: number;
}

/** The run is over: the worker zeroes its copy of the key (and what it made of it), then exits. */
export interface CloseMessage {
  type: 'close';
}

export type ToWorker = { type: 'plan'; plan: PlanSpec } | RowsJob | RestoreJob | InsertsJob | LeafJob | CloseMessage;

export interface JobDone {
  type: 'done';
  seq: number;
  /** Where the masked rows are: the job's `out`, or a larger buffer. */
  out: SharedArrayBuffer;
  outLength: number;
  /** Unmask: the job's records buffer, handed back. */
  records: SharedArrayBuffer;
  recordsLength: number;
  /** Masking: the rows' vault records as a whole records frame (FrameRecords), transferred; `frame[0..frameLength)`. */
  frame: ArrayBuffer | undefined;
  frameLength: number;
  changed: number;
  /** Warnings raised while masking (the main thread shows each once). */
  warnings: string[];
}

export interface JobFailed {
  type: 'failed';
  seq: number;
  error: { code: ErrorCode; detail: string; position: Position } | { message: string; stack: string | undefined };
}

export interface LeafDone {
  type: 'leaf';
  seq: number;
  digest: Uint8Array;
}

export type FromWorker = JobDone | LeafDone | JobFailed;

/** The plan as plain data, for the workers. */
export function planSpec(plan: TablePlan, encoding: string, fields: FieldEncoding = 'copy-text', standardStrings = true): PlanSpec {
  if (fields !== 'copy-text' && fields !== 'sql-literal') throw new Error(`no worker plan for ${fields} fields`);
  return {
    fields,
    standardStrings,
    index: plan.index,
    table: plan.table,
    ruleTable: plan.ruleTable,
    columnNames: plan.columnNames,
    keyIndexes: plan.keyIndexes,
    keyNames: plan.keyNames,
    masked: plan.masked.map((m) => ({ name: m.name, strategy: m.strategy, type: m.type, index: m.index, spec: m.spec })),
    keyTextKept: plan.keyTextKept,
    encoding,
  };
}
