// The main thread's side of the row workers: starts them, tells each every table plan, and
// hands out jobs (to the worker with the least work waiting), resolving each job's promise
// with the worker's reply. The jobs are batches of rows to mask or restore (with the shared
// memory that carries them), or anything else the worker script takes (./leaf-hasher.ts
// sends digest leaves). Order is the caller's business (../ordered-output.ts).

import { Worker } from 'node:worker_threads';
import { PgcloakError } from '../../errors.js';
import { sodium } from '../../sodium.js';
import type { FromWorker, InsertsJob, JobDone, JobFailed, LeafDone, PlanSpec, RestoreJob, RowsJob, ToWorker, WorkerInit } from './messages.js';

/** A job out on a worker: how to settle it, and whether it is a batch of rows (those count towards `busy`). */
interface Pending {
  resolve(reply: JobDone | LeafDone): void;
  reject(err: Error): void;
  batch: boolean;
}

/**
 * Memory shared with the workers for one batch: its rows in, the masked rows out, and for
 * unmask its vault records in. (Masking's records come back as a frame in memory of their
 * own, transferred: the vault writer seals it without a copy, which shared memory would not allow.)
 */
interface Slot {
  input: SharedArrayBuffer;
  out: SharedArrayBuffer;
  records: SharedArrayBuffer;
  /** INSERT runs: the rows' offsets (InsertsJob.rows), reused like the rest rather than a copy per run. */
  rows: SharedArrayBuffer;
}

/** A batch's result: views into its slot, valid until `release` (once the output is written). */
export interface BatchResult {
  out: Buffer;
  /** Its vault records (masking: within `frame`). */
  records: Buffer;
  /** Masking: the records as a whole vault records frame, in memory of its own (recycleFrame it once sealed). */
  frame: Buffer | undefined;
  changed: number;
  warnings: string[];
  release: () => void;
}

const SLOT_BYTES = 320 * 1024;
/** Sealed records frames kept for the next batches (more are left to the garbage collector). */
const SPARE_FRAMES = 8;
/** How long close() lets a worker finish its queue and wipe its key before terminating it. */
const CLOSE_WAIT_MS = 2000;
/** Batches queued per worker before `busy`. */
const QUEUED_PER_WORKER = 6;

/** The compiled worker script; under the test runner (TypeScript sources) the build's copy. */
function workerScript(): URL {
  const url = new URL('./row-worker.js', import.meta.url);
  return import.meta.url.endsWith('.ts') ? new URL(url.href.replace(/\/src\/(?!.*\/src\/)/, '/dist/')) : url;
}

export class RowWorkers {
  private readonly workers: Worker[] = [];
  /** Per worker: the bytes of work it has waiting. */
  private readonly load: number[] = [];
  private readonly pending = new Map<number, Pending>();
  /** Batches of rows out on the workers. */
  private batches = 0;
  private seq = 0;
  private failure: Error | undefined;
  private readonly exited = new Set<Worker>();
  /** Slots free for the next batch. */
  private readonly spare: Slot[] = [];
  /** Memory of records frames already sealed, handed back to the workers with the next batches. */
  private readonly spareFrames: ArrayBuffer[] = [];

  constructor(count: number, secret: Buffer | undefined) {
    const init: WorkerInit = { secret: secret ? new Uint8Array(secret) : undefined };
    try {
      for (let i = 0; i < count; i++) {
        // workerData is copied (structured clone) here, synchronously: the copy in `init` can go at once.
        const worker = new Worker(workerScript(), { workerData: init });
        worker.on('message', (m: FromWorker) => this.settle(i, m));
        worker.on('error', (err) => this.fail(err));
        worker.on('exit', (code) => {
          this.exited.add(worker);
          if (this.pending.size > 0) this.fail(new Error(`row worker ${i} exited (code ${code}) with work outstanding`));
        });
        this.workers.push(worker);
        this.load.push(0);
      }
    } finally {
      if (init.secret) sodium.sodium_memzero(init.secret);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** The workers have enough batches queued: the caller does the next batch itself. */
  get busy(): boolean {
    return this.batches >= this.workers.length * QUEUED_PER_WORKER;
  }

  /** Every worker learns the plan before any batch of its rows. */
  declarePlan(plan: PlanSpec): void {
    for (const w of this.workers) w.postMessage({ type: 'plan', plan });
  }

  /** Masks a batch of rows of plan `plan` (copied: `rows` may be reused at once). */
  maskRows(plan: number, rows: Uint8Array, where: Pick<RowsJob, 'ordinal' | 'line' | 'offset' | 'record'>): Promise<BatchResult> {
    const slot = this.takeSlot(rows);
    const frame = this.spareFrames.pop();
    return this.sendBatch(slot, rows.length, (seq) => ({ type: 'rows', seq, plan, input: slot.input, inputLength: rows.length, out: slot.out, records: slot.records, frame, ...where }), frame);
  }

  /** A records frame's memory (BatchResult.frame) once sealed: the next batches' records go into it. */
  recycleFrame(frame: Buffer): void {
    if (this.spareFrames.length < SPARE_FRAMES) this.spareFrames.push(frame.buffer as ArrayBuffer);
  }

  /** Masks the rows of plan `plan` in a run of INSERT statements (`input` copied; `rows` as InsertsJob says). */
  maskInserts(plan: number, input: Uint8Array, rows: Int32Array, where: Pick<InsertsJob, 'ordinal' | 'offsetBase' | 'standardStrings' | 'encoding' | 'record'>): Promise<BatchResult> {
    const slot = this.takeSlot(input, undefined, rows);
    const frame = this.spareFrames.pop();
    return this.sendBatch(slot, input.length, (seq) => ({
      type: 'inserts',
      seq,
      plan,
      input: slot.input,
      inputLength: input.length,
      rows: slot.rows,
      rowsLength: rows.length,
      out: slot.out,
      records: slot.records,
      frame,
      ...where,
    }), frame);
  }

  /** Unmask: restores a batch of masked rows of plan `plan` from their vault records (both copied). */
  restoreRows(plan: number, rows: Uint8Array, records: Uint8Array, where: Pick<RestoreJob, 'ordinal' | 'line' | 'offset'>): Promise<BatchResult> {
    const slot = this.takeSlot(rows, records);
    return this.sendBatch(slot, rows.length, (seq) => ({
      type: 'restore',
      seq,
      plan,
      input: slot.input,
      inputLength: rows.length,
      records: slot.records,
      recordsLength: records.length,
      out: slot.out,
      ...where,
    }));
  }

  /**
   * A job for the worker with the least work waiting; resolves with its reply. `weight`: about
   * how many bytes of rows its work is worth (for that choice); `batch`: a batch of rows,
   * which counts towards `busy`; `transfer`: memory that goes with the message.
   */
  request(message: (seq: number) => ToWorker, weight: number, batch: boolean, transfer: ArrayBuffer[] = []): Promise<JobDone | LeafDone> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.seq++;
    const w = this.lightest();
    this.load[w]! += weight;
    if (batch) this.batches++;
    const settled = (): void => {
      this.load[w]! -= weight;
      if (batch) this.batches--;
    };
    return new Promise<JobDone | LeafDone>((resolve, reject) => {
      this.pending.set(seq, {
        resolve: (reply) => {
          settled();
          resolve(reply);
        },
        reject: (err) => {
          settled();
          reject(err);
        },
        batch,
      });
      this.workers[w]!.postMessage(message(seq), transfer);
    });
  }

  /** A batch of rows in `slot`; `frame`: memory for the records, transferred with the message. */
  private sendBatch(slot: Slot, bytes: number, message: (seq: number) => ToWorker, frame?: ArrayBuffer): Promise<BatchResult> {
    if (this.failure) {
      this.spare.push(slot);
      return Promise.reject(this.failure);
    }
    return this.request(message, bytes, true, frame ? [frame] : []).then((reply) => {
      const d = reply as JobDone;
      // The worker may have needed larger buffers: the slot keeps them.
      slot.out = d.out;
      slot.records = d.records;
      const frame = d.frame ? Buffer.from(d.frame, 0, d.frameLength) : undefined;
      return {
        out: Buffer.from(d.out, 0, d.outLength),
        records: frame ? frame.subarray(1) : Buffer.from(d.records, 0, d.recordsLength),
        frame,
        changed: d.changed,
        warnings: d.warnings,
        // Every slot comes back for reuse: their number is bounded by the batches that can be
        // out at once (a chunk's worth plus those the caller lets wait), and a dropped shared
        // buffer would only be freed once every worker's heap had collected it too.
        release: () => this.spare.push(slot),
      };
    });
  }

  private lightest(): number {
    let w = 0;
    for (let i = 1; i < this.load.length; i++) if (this.load[i]! < this.load[w]!) w = i;
    return w;
  }

  /** A free slot holding a copy of `input`, and of `records` and `rows` when given (each grown as needed). */
  private takeSlot(input: Uint8Array, records?: Uint8Array, rows?: Int32Array): Slot {
    const slot = this.spare.pop() ?? {
      input: new SharedArrayBuffer(SLOT_BYTES),
      out: new SharedArrayBuffer(SLOT_BYTES),
      // Only unmask sends records this way (masking's come back as frames): grown when needed.
      records: new SharedArrayBuffer(0),
      rows: new SharedArrayBuffer(0),
    };
    slot.input = withRoom(slot.input, input.byteLength);
    new Uint8Array(slot.input, 0, input.length).set(input);
    if (records) {
      slot.records = withRoom(slot.records, records.byteLength);
      new Uint8Array(slot.records, 0, records.length).set(records);
    }
    if (rows) {
      slot.rows = withRoom(slot.rows, rows.byteLength);
      new Int32Array(slot.rows, 0, rows.length).set(rows);
    }
    return slot;
  }

  /**
   * Ends the workers. Work still out is refused at once (its results, if any come, are
   * dropped); each worker then zeroes its copy of the key ('close', after the jobs it has
   * queued) and exits, or is terminated after CLOSE_WAIT_MS.
   */
  async close(): Promise<void> {
    const workers = this.workers.splice(0);
    if (this.pending.size > 0) this.fail(new Error('row workers closed with work outstanding'));
    await Promise.all(
      workers.map((w) => {
        if (this.exited.has(w)) return undefined;
        return new Promise<void>((resolve) => {
          const timer = setTimeout(() => void w.terminate().then(() => resolve(), () => resolve()), CLOSE_WAIT_MS);
          w.once('exit', () => {
            clearTimeout(timer);
            resolve();
          });
          w.postMessage({ type: 'close' } satisfies ToWorker);
        });
      }),
    );
  }

  private settle(_worker: number, m: FromWorker): void {
    const pending = this.pending.get(m.seq);
    if (!pending) return;
    this.pending.delete(m.seq);
    if (m.type === 'failed') pending.reject(workerError(m));
    else pending.resolve(m);
  }

  private fail(err: Error): void {
    this.failure ??= err;
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) p.reject(err);
  }
}

/** A worker's failure as the main thread throws it: pgcloak's own errors keep their code and position. */
function workerError(m: JobFailed): Error {
  const e = m.error;
  if ('code' in e) return new PgcloakError(e.code, e.detail, e.position);
  const err = new Error(`row worker: ${e.message}`);
  if (e.stack) err.stack = e.stack;
  return err;
}

/** `buf`, or a larger one (with a quarter to spare) when it holds fewer than `bytes`. */
function withRoom(buf: SharedArrayBuffer, bytes: number): SharedArrayBuffer {
  return buf.byteLength < bytes ? new SharedArrayBuffer(Math.ceil(bytes * 1.25)) : buf;
}
