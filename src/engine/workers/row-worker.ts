// A row worker thread: prepares the same table plans as the main thread (from their specs),
// masks batches of whole COPY text rows and runs of INSERT statements into output bytes and
// vault records, and restores batches for unmask, with the same row kernel the main thread
// uses (../row-kernel.ts, chosen once here as there, ../kernel-choice.ts). Between batches it
// hashes the leaves of the run's digest (./leaf-hasher.ts).

import { parentPort, workerData } from 'node:worker_threads';
import { PgcloakError } from '../../errors.js';
import { dumpEncoding, UTF8_ENCODING } from '../../dump/encoding.js';
import { ScratchBuffer } from '../../io/byte-sink.js';
import { copyTextCodec, sqlLiteralCodec, type TextOptions } from '../field-codecs.js';
import type { LiteralOptions } from '../../dump/sql-literal.js';
import { prepareMask } from '../mask-spec.js';
import { RecordShape } from '../masked-record.js';
import { maskBatch, maskInsertRun } from '../row-kernel.js';
import { rowKernel } from '../kernel-choice.js';
import { RowMasker } from '../row-masker.js';
import type { MaskedField, TablePlan } from '../table-plans.js';
import type { FromWorker, InsertsJob, PlanSpec, RestoreJob, RowsJob, ToWorker, WorkerInit } from './messages.js';
import { RowRestorer } from '../row-restorer.js';
import { FrameRecords } from '../record-buffer.js';
import { leafDigest } from '../../vault/digest.js';
import { sodium } from '../../sodium.js';
import { forgetShuffles } from '../../strategies/small-domain.js';

const init = workerData as WorkerInit;
// A view, not a copy: wiping it on 'close' wipes the worker's only copy of the key.
const secret = init.secret ? Buffer.from(init.secret.buffer, init.secret.byteOffset, init.secret.byteLength) : undefined;
const tables: { row: RowMasker; shape: RecordShape; restorer?: RowRestorer }[] = [];
const kernel = rowKernel();
const out = new ScratchBuffer();
const records = new FrameRecords();
let warnings: string[] = [];
let input = Buffer.allocUnsafe(0);
/** SQL literal options of INSERT plans: standard_conforming_strings is set per job. */
const literalOptions: LiteralOptions & TextOptions = { standardStrings: true, encoding: 'utf8', fromUnicode: (t) => t };
let recordsCopy = Buffer.allocUnsafe(0);
const warn = (message: string): void => {
  warnings.push(message);
};

function preparePlan(spec: PlanSpec): void {
  const masked: MaskedField[] = spec.masked.map((m) => ({ ...m, mask: prepareMask(m.spec, warn, secret)! }));
  // Warnings made while preparing were the main thread's to show already.
  warnings = [];
  const plan: TablePlan = { ...spec, masked };
  const encoding = dumpEncoding(spec.encoding) ?? UTF8_ENCODING;
  const text = { encoding: encoding.fields, fromUnicode: (t: string) => encoding.fromUnicode(t) };
  // SQL literal constants are encoded now, with the settings the main thread had for this plan.
  Object.assign(literalOptions, text, { standardStrings: spec.standardStrings });
  const codec = spec.fields === 'sql-literal' ? sqlLiteralCodec(literalOptions) : copyTextCodec(text);
  tables[spec.index] = { row: new RowMasker(plan, codec), shape: new RecordShape(plan) };
}

function maskRows(job: RowsJob): FromWorker {
  const { row, shape } = tables[job.plan]!;
  const buf = privateCopy(job.input, job.inputLength);
  out.reset();
  records.reset();
  // The message's fields read once: a deserialized message is a slow object to read in a loop.
  const changed = maskBatch(kernel, row, shape, buf, 0, buf.length, job.ordinal, job.line, job.offset, out, job.record ? records : undefined);
  return masked(job, changed);
}

/** The reply to a masking job: its output into the slot, its records frame (transferred), and the warnings since the last. */
function masked(job: RowsJob | InsertsJob, changed: number): FromWorker {
  const frameLength = job.record ? records.length : 0;
  const done: FromWorker = {
    type: 'done',
    seq: job.seq,
    out: into(job.out, out.view()),
    outLength: out.length,
    records: job.records,
    recordsLength: 0,
    frame: job.record ? records.take(job.frame) : undefined,
    frameLength,
    changed,
    warnings,
  };
  warnings = [];
  return done;
}

/**
 * The job's rows in a private buffer: V8 optimizes access to shared memory less well
 * (masking straight from the shared buffer was slower: bench/RESULTS.md).
 */
function privateCopy(shared: SharedArrayBuffer, length: number): Buffer {
  if (input.length < length) input = Buffer.allocUnsafe(Math.max(length, input.length * 2));
  input.set(new Uint8Array(shared, 0, length));
  return input.subarray(0, length);
}

/** `bytes` copied into `shared`, or into a larger shared buffer when they do not fit. */
function into(shared: SharedArrayBuffer, bytes: Uint8Array): SharedArrayBuffer {
  const target = bytes.length <= shared.byteLength ? shared : new SharedArrayBuffer(Math.ceil(bytes.length * 1.25));
  new Uint8Array(target, 0, bytes.length).set(bytes);
  return target;
}

/** INSERT statements with the rows of one plan masked in place. */
function maskInserts(job: InsertsJob): FromWorker {
  const { row, shape } = tables[job.plan]!;
  const encoding = dumpEncoding(job.encoding) ?? UTF8_ENCODING;
  literalOptions.standardStrings = job.standardStrings;
  literalOptions.encoding = encoding.fields;
  literalOptions.fromUnicode = (t) => encoding.fromUnicode(t);
  const buf = privateCopy(job.input, job.inputLength);
  out.reset();
  records.reset();
  const changed = maskInsertRun(kernel, row, shape, buf, new Int32Array(job.rows, 0, job.rowsLength), job.ordinal, job.offsetBase, out, job.record ? records : undefined);
  return masked(job, changed);
}

/** Unmask: the original rows of a batch, checked against the vault's records. */
function restoreRows(job: RestoreJob): FromWorker {
  const table = tables[job.plan]!;
  const restorer = (table.restorer ??= new RowRestorer(table.row));
  const buf = privateCopy(job.input, job.inputLength);
  if (recordsCopy.length < job.recordsLength) recordsCopy = Buffer.allocUnsafe(Math.max(job.recordsLength, recordsCopy.length * 2));
  recordsCopy.set(new Uint8Array(job.records, 0, job.recordsLength));
  const records = recordsCopy.subarray(0, job.recordsLength);
  out.reset();
  const changed = kernel.restoreBatch(restorer, buf, 0, buf.length, records, job.ordinal, job.line, job.offset, out);
  return { type: 'done', seq: job.seq, out: into(job.out, out.view()), outLength: out.length, records: job.records, recordsLength: 0, frame: undefined, frameLength: 0, changed, warnings: [] };
}

/** The run is over: zero the key and the tables made of it, and let the thread end. */
function close(): void {
  if (secret) {
    forgetShuffles(secret);
    sodium.sodium_memzero(secret);
  }
  parentPort!.close();
}

parentPort!.on('message', (message: ToWorker) => {
  if (message.type === 'plan') {
    preparePlan(message.plan);
    return;
  }
  if (message.type === 'close') {
    close();
    return;
  }
  let reply: FromWorker;
  try {
    if (message.type === 'leaf') reply = { type: 'leaf', seq: message.seq, digest: leafDigest(message.leaf, message.length) };
    else reply = message.type === 'rows' ? maskRows(message) : message.type === 'inserts' ? maskInserts(message) : restoreRows(message);
  } catch (err) {
    reply = {
      type: 'failed',
      seq: message.seq,
      error:
        err instanceof PgcloakError
          ? { code: err.code, detail: err.detail, position: err.position }
          : { message: String((err as Error)?.message ?? err), stack: (err as Error)?.stack },
    };
  }
  parentPort!.postMessage(reply, reply.type === 'done' && reply.frame ? [reply.frame] : []);
});
