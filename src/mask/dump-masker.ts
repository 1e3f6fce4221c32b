// Masking a plain dump: every row of a planned table is written with its masked
// fields replaced, and its key and original fields go to the vault, in dump order.

import type { CopyDataMode, StatementWalk } from '../dump/sql-scanner.js';
import type { SourcePosition } from '../errors.js';
import type { InsertHeader } from '../dump/insert-statement.js';
import { RecordBuffer, SealableFrame } from '../engine/record-buffer.js';
import { ScratchBuffer, type ByteArea, type Push } from '../io/byte-sink.js';
import { planSpec } from '../engine/workers/messages.js';
import { tableDeclaration } from '../engine/table-declaration.js';
import type { VaultSink } from '../vault/writer.js';
import type { BatchResult, RowWorkers } from '../engine/workers/row-workers.js';
import type { StatisticsVerdict } from '../engine/statistics.js';
import type { RuleSet } from '../rules/rules-file.js';
import { findKeyCollisions, formatKeyCollision } from '../rules/key-collisions.js';
import { PgcloakError } from '../errors.js';
import { DeclaredKeys } from '../schema/declared-keys.js';
import { DumpProcessor, type ActiveTable, type ProcessorOptions } from '../engine/dump-processor.js';
import type { FieldEncoding } from '../engine/field-codecs.js';
import { RecordShape } from '../engine/masked-record.js';
import { eachCopyRow, LONG_ROW_BYTES, maskRow, type RowRecorder } from '../engine/masked-row.js';
import { maskBatch, maskInsertRun, type RowKernel } from '../engine/row-kernel.js';
import { rowKernel } from '../engine/kernel-choice.js';
import type { TablePlan } from '../engine/table-plans.js';

/** The chance of a shared hash in one column above which masking warns (warnLikelyCollisions). */
export const COLLISION_WARNING = 1e-6;

/** How a masker is made (mask/run.ts gives them from the normalised options). */
export interface MaskerOptions extends Omit<ProcessorOptions, 'kernel' | 'pseudonymVersion' | 'keyTextKept' | 'batchBytes'> {
  /**
   * Mask the rows of COPY blocks and INSERT statements on these threads too (the vault, if
   * any, must take appendRecords). Without them every row is masked on this thread.
   */
  workers?: RowWorkers | undefined;
  /** The row kernel (default: the run's, ../engine/kernel-choice.ts). */
  kernel?: RowKernel | undefined;
  /**
   * Keys the rules break, found at the end (rules/key-collisions.ts): warnings (the default),
   * or with 'error' (maskDump's `strict`) the error RULES_KEY_COLLISION before the output is complete.
   */
  keyCheck?: 'warn' | 'error' | undefined;
}

export class DumpMasker extends DumpProcessor {
  private readonly vault: VaultSink | undefined;
  /** Per plan index: reusable field references of its vault records. */
  private readonly shapes: RecordShape[] = [];
  private readonly workers: RowWorkers | undefined;
  /** Output and vault in input order while batches are out on the workers. */
  /** Main-thread rows' records while batches are pending (appended in their turn). */
  private readonly deferred = new RecordBuffer();
  /** Record buffers of batches masked here while earlier ones are out, for reuse. */
  private readonly waitingRecords: RecordBuffer[] = [];
  /** The open run of INSERT statements for a worker (batchInsertRow). */
  private readonly runBytes = new ScratchBuffer();
  /** Per row of the run: start, end, line, offset, then its fields' starts and ends (InsertsJob.rows). */
  private runRows = new Int32Array(4096);
  private inserts: InsertRun | undefined;
  private readonly takeInsertsHere = (buf: Buffer, start: number, end: number, at: SourcePosition) => this.takeInserts(buf, start, end, at);
  private readonly rules: RuleSet;
  /** Keys the rules break, found at the end: see MaskerOptions.keyCheck. */
  private readonly keyCheck: 'warn' | 'error';
  /** The keys the dump declares, learnt with the catalog (the key check at the end). */
  private readonly declaredKeys: DeclaredKeys;

  /** `vault`: where the originals go (none: a dry run, they are lost). */
  constructor(rules: RuleSet, push: Push, vault: VaultSink | undefined, options: MaskerOptions = {}) {
    super(rules, push, { ...options, kernel: options.kernel ?? rowKernel() });
    const workers = options.workers;
    this.keyCheck = options.keyCheck ?? 'warn';
    this.rules = rules;
    // The keys the dump declares, learnt with the catalog from the same statements (the key check at the end).
    const keys = (this.declaredKeys = new DeclaredKeys());
    this.listen({ ddl: (_s, _learnt, sql) => keys.learn(sql, this.catalog.defaultSchema) });
    this.vault = vault;
    this.workers = workers;
    if (workers && vault && !vault.appendRecords) throw new Error('mask workers need a vault that takes appendRecords');
  }

  protected onPlan(plan: TablePlan, encoding: FieldEncoding): void {
    const vault = this.vault;
    // A batch of INSERTs of another plan goes first: its rows' records come before this declaration.
    this.closeInserts();
    if (vault) {
      const decl = tableDeclaration(plan, encoding);
      this.ordered.then(() => vault.declareTable(decl));
    }
    this.shapes[plan.index] = new RecordShape(plan);
    this.workers?.declarePlan(planSpec(plan, this.encodingName, encoding, this.router.literal.standardStrings));
  }

  /** A masked column's statistics: its values left out of the output, the statement kept in the vault. */
  protected statisticsStatement(text: Buffer, verdict: Exclude<StatisticsVerdict, { action: 'refuse' }>): void {
    if (verdict.action === 'pass') {
      this.verbatim(text, 0, text.length);
      return;
    }
    const vault = this.vault;
    if (vault) {
      // After the records of a run of INSERTs before it, and of batches still out on workers.
      this.closeInserts();
      const original = Buffer.from(text);
      this.ordered.then(() => vault.statement(original));
    }
    this.verbatim(verdict.reduced, 0, verdict.reduced.length);
  }

  /** Batches also without workers: a call per batch instead of per row. */
  protected override copyRowsMode(): CopyDataMode {
    return 'batch';
  }

  protected plannedRow(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition): void {
    if (end - start >= LONG_ROW_BYTES) {
      if (this.inserts) {
        // After the INSERT rows before it, which the open run holds: masked here, so that
        // nothing waits on a worker when the long row goes out (see maskLong). Masking them
        // sets the row masker's fields (the same table's): this row's are put back.
        const starts = t.row.starts.slice();
        const ends = t.row.ends.slice();
        this.closeInserts(true);
        t.row.starts.set(starts);
        t.row.ends.set(ends);
      }
      this.maskLong(t, (out, records) => (maskRow(t.row, this.shapes[t.plan.index]!, ++t.counter.rows, buf, start, end, at, out, records) ? 1 : 0));
      return;
    }
    if ((this.workers || this.kernel.masksInsertRuns) && t.row.codecs[0]?.encoding === 'sql-literal') {
      this.batchInsertRow(t, buf, start, end, at);
      return;
    }
    const ordinal = ++t.counter.rows;
    const shape = this.shapes[t.plan.index]!;
    const vault = this.vault;
    if (!vault?.appendRecords) {
      if (maskRow(t.row, shape, ordinal, buf, start, end, at, this.out, vault)) t.stats.changedRows++;
      return;
    }
    // The record is serialized here, then appended: cheaper than the vault's row() per field.
    this.deferred.reset();
    if (maskRow(t.row, shape, ordinal, buf, start, end, at, this.out, this.deferred)) t.stats.changedRows++;
    if (this.ordered.idle) {
      vault.appendRecords(this.deferred.view());
      return;
    }
    // Batches before this row are still out: its record waits for theirs.
    const records = this.deferred.copy();
    this.ordered.then(() => vault.appendRecords!(records));
  }

  /**
   * With workers or a kernel that masks runs, the rows of INSERT statements are masked in runs:
   * while a run is open, everything written goes into it as it is (the statements around
   * the rows, what lies between statements), and each row is noted with its fields; a
   * worker (or this thread) writes the run back with the rows masked.
   */
  private batchInsertRow(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition): void {
    let run = this.inserts;
    // A run shares its table and the string settings its rows were read with.
    if (run && (run.table !== t || run.standardStrings !== this.router.literal.standardStrings || run.encoding !== this.encodingName)) {
      this.closeInserts();
      run = undefined;
    }
    run ??= this.openInserts(t, at.offset);
    t.counter.rows++;
    const shift = this.runBytes.length - start;
    this.runBytes.write(buf, start, end);
    const rm = t.row;
    const n = rm.starts.length;
    const rows = this.rowRoom(run.rowInts + 4 + 2 * n);
    let k = run.rowInts;
    rows[k++] = start + shift;
    rows[k++] = end + shift;
    rows[k++] = at.line;
    rows[k++] = at.offset - run.offsetBase;
    for (let i = 0; i < n; i++) rows[k++] = rm.starts[i]! + shift;
    for (let i = 0; i < n; i++) rows[k++] = rm.ends[i]! + shift;
    run.rowInts = k;
    if (this.runBytes.length >= INSERT_RUN_BYTES) this.closeInserts();
  }

  private openInserts(t: ActiveTable, offsetBase: number): InsertRun {
    this.out.flush();
    // The run's buffers are reused: closeInserts() copies them out.
    this.runBytes.reset();
    const run = { table: t, first: t.counter.rows, offsetBase, rowInts: 0, standardStrings: this.router.literal.standardStrings, encoding: this.encodingName };
    this.inserts = run;
    return run;
  }

  /** runRows with room for `ints` (its first ones kept). */
  private rowRoom(ints: number): Int32Array {
    let rows = this.runRows;
    if (ints > rows.length) {
      rows = new Int32Array(Math.max(rows.length * 2, ints));
      rows.set(this.runRows);
      this.runRows = rows;
    }
    return rows;
  }

  /**
   * After an INSERT statement whose rows went into a run: the statements with the same
   * header that follow go into runs natively, whole statements at a time (takeInserts),
   * as long as their rows are plain. Standard strings only: the kernel reads no escapes.
   */
  protected override insertDone(t: ActiveTable, text: Buffer, header: InsertHeader): StatementWalk | undefined {
    if (this.kernel.insertWalker && this.inserts?.table === t && this.router.literal.standardStrings) return this.insertWalk(t, text, header, this.takeInsertsHere);
    return undefined;
  }

  /** While a run of INSERT statements is open, everything written goes into it, as it is (see batchInsertRow). */
  protected override verbatim(buf: Buffer, start: number, end: number): void {
    if (this.inserts) this.runBytes.write(buf, start, end);
    else this.out.write(buf, start, end);
  }

  /** The statements from `start` the kernel's INSERT walk takes, into runs (see insertDone); undefined when none. */
  private takeInserts(buf: Buffer, start: number, end: number, at: SourcePosition): { end: number; lines: number } | undefined {
    const walker = this.kernel.insertWalker!;
    const { table: t, bytes, fields } = this.walkHeader!;
    let run = this.inserts;
    if (run && (run.table !== t || this.runBytes.length >= INSERT_RUN_BYTES)) {
      this.closeInserts();
      run = undefined;
    }
    // Rows go after the open run's (an unopened run starts empty).
    const filled = run ? this.runBytes.length : 0;
    const rowInts = run ? run.rowInts : 0;
    // Offsets from the run's base (its first statement's, when it opens now).
    const base = run ? run.offsetBase : at.offset;
    let walked = walker.walk(buf, start, end, bytes, fields, INSERT_RUN_BYTES - filled, this.runRows, rowInts, filled - start, at.line, at.offset - base - start);
    while (walked.needsRows) {
      this.rowRoom(this.runRows.length * 2);
      walked = walker.walk(buf, start, end, bytes, fields, INSERT_RUN_BYTES - filled, this.runRows, rowInts, filled - start, at.line, at.offset - base - start);
    }
    if (walked.statements === 0) return undefined;
    const { end: taken, rows, lines } = walked;
    run ??= this.openInserts(t, at.offset);
    this.runBytes.write(buf, start, taken);
    run.rowInts += rows * (4 + 2 * fields);
    t.counter.rows += rows;
    t.stats.rows = t.counter.rows;
    if (this.runBytes.length >= INSERT_RUN_BYTES) this.closeInserts();
    return { end: taken, lines };
  }

  /** A run's strings are read with the settings it was made with: it ends before they change. */
  protected override settingsChanging(): void {
    this.closeInserts();
  }

  /** Masks the open run of INSERT statements, if any: on a worker, or here when they are busy (or absent) or `here`. */
  private closeInserts(here = false): void {
    const run = this.inserts;
    if (!run) return;
    this.inserts = undefined;
    const t = run.table;
    const workers = this.workers;
    if (!workers || workers.busy || here) {
      // This thread's codec reads strings with the settings in force: the run's (settingsChanging).
      if (run.standardStrings !== this.router.literal.standardStrings || run.encoding !== this.encodingName) throw new Error('an INSERT run outlived its settings');
      const shape = this.shapes[t.plan.index]!;
      const bytes = this.runBytes.view();
      const rows = this.runRows.subarray(0, run.rowInts);
      this.masked(t, (out, records) => maskInsertRun(this.kernel, t.row, shape, bytes, rows, run.first, run.offsetBase, out, records));
      return;
    }
    const result = workers.maskInserts(t.plan.index, this.runBytes.view(), this.runRows.subarray(0, run.rowInts), {
      ordinal: run.first,
      offsetBase: run.offsetBase,
      standardStrings: run.standardStrings,
      encoding: run.encoding,
      record: this.vault !== undefined,
    });
    this.sendBatch(t, result);
  }

  override end(): void {
    super.end();
    this.closeInserts();
    // A run masked here is in the sink, after what end() flushed.
    this.out.flush();
    this.warnLikelyCollisions();
    this.checkKeys();
  }

  /**
   * The keys the dump declares that the rules break (a repeated value in a unique key, NULL in
   * a primary key, a reference that no longer matches), now that pg_dump's post-data section
   * has declared them all.
   */
  private checkKeys(): void {
    if (!this.declaredKeys || this.rules.tables.size === 0) return;
    const rows = new Map<string, number>();
    for (const t of this.tables) rows.set(t.table, (rows.get(t.table) ?? 0) + t.rows);
    const found = findKeyCollisions({ keys: this.declaredKeys, catalog: this.catalog, rules: this.rules, rows: (table) => rows.get(table) });
    if (found.length === 0) return;
    // Under `strict` (mask --strict) the certain ones are the error; those that depend on the data stay warnings.
    const certain = found.filter((c) => c.condition === undefined).map(formatKeyCollision);
    if (this.keyCheck === 'error' && certain.length > 0) {
      throw new PgcloakError('RULES_KEY_COLLISION', `\`strict\`: the masked dump would not restore: ${certain.length} key(s) the rules break:\n  ${certain.join('\n  ')}`);
    }
    for (const c of found) this.warn(formatKeyCollision(c));
  }

  /**
   * Warns, per column of a keyed hash cut short (ValueMask.collisionBits), when its table has
   * rows enough that two different values sharing a hash is no longer negligible: by the
   * birthday bound about rows² / 2^(bits+1) (rows counts every value, repeats and NULLs too,
   * so it errs on the side of warning).
   */
  private warnLikelyCollisions(): void {
    const rows = new Map<string, number>();
    for (const t of this.tables) rows.set(t.table, (rows.get(t.table) ?? 0) + t.rows);
    const warned = new Set<string>();
    for (const plan of this.planner.plans) {
      const n = rows.get(plan.table) ?? 0;
      for (const m of plan.masked) {
        const bits = m.mask.kind === 'value' ? m.mask.collisionBits : undefined;
        const where = `${plan.table}\0${m.name}`;
        if (bits === undefined || warned.has(where)) continue;
        const expected = (n * n) / 2 ** (bits + 1);
        if (expected <= COLLISION_WARNING) continue;
        warned.add(where);
        const chance = -Math.expm1(-expected);
        this.warn(
          `${m.spec.column.path}: ${n} rows of ${plan.table} under hashes of ${bits / 4} hex characters (${bits} bits): two different values share a hash with a chance of about ${chance.toPrecision(2)} (birthday bound), which breaks UNIQUE constraints and joins: give a larger \`length\``,
        );
      }
    }
  }

  protected override applyBatch(t: ActiveTable, done: BatchResult): void {
    const vault = this.vault;
    if (done.frame && vault?.appendFrame) {
      vault.appendFrame(done.frame);
      this.workers!.recycleFrame(done.frame);
    } else {
      vault?.appendRecords!(done.records);
    }
    super.applyBatch(t, done);
  }

  protected override plannedRows(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition, count: number): void {
    const long = end - start >= LONG_ROW_BYTES;
    this.closeInserts(long);
    const first = t.counter.rows;
    t.counter.rows += count;
    if (long) {
      // A batch this long holds a long row: see maskLong.
      const shape = this.shapes[t.plan.index]!;
      let ordinal = first;
      this.maskLong(t, (out, records) =>
        eachCopyRow(t.row, buf, start, end, at.line, at.offset, out, (rowStart, rowEnd, rowAt) => maskRow(t.row, shape, ++ordinal, buf, rowStart, rowEnd, rowAt, out, records)),
      );
      return;
    }
    const workers = this.workers;
    if (!workers || workers.busy) {
      // The workers have enough to do: this thread masks the batch itself.
      this.maskHere(t, buf, start, end, at, first);
      return;
    }
    this.sendBatch(t, workers.maskRows(t.plan.index, buf.subarray(start, end), { ordinal: first, line: at.line, offset: at.offset, record: this.vault !== undefined }));
  }

  /** A batch masked on this thread: straight out when nothing waits, else queued behind the workers' batches. */
  private maskHere(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition, first: number): void {
    const shape = this.shapes[t.plan.index]!;
    this.masked(t, (out, records) => maskBatch(this.kernel, t.row, shape, buf, start, end, first, at.line, at.offset, out, records));
  }

  /**
   * Rows as long as a field of hundreds of MB (a document), masked by `mask` (as masked() takes
   * it) on this thread, the general way: the row's untouched stretches go out as views of it,
   * where the kernels would copy them, and its record goes into memory of its own, sealed
   * where it lies. Not on a worker: the row would be copied into shared memory, kept there for
   * the next batches. A long row usually comes with nothing waiting (DumpProcessor.settle);
   * else its output is copied to wait its turn, and its record waits with it.
   */
  private maskLong(t: ActiveTable, mask: (out: ByteArea, records: RowRecorder | undefined) => number): void {
    const vault = this.vault;
    if (vault?.appendFrameInPlace) {
      const frame = new SealableFrame();
      t.stats.changedRows += mask(this.out, frame);
      this.ordered.then(() => {
        vault.appendFrameInPlace!(frame.memory, frame.length);
        frame.free();
      });
    } else if (vault?.appendRecords) {
      // A vault that cannot seal in place: the records in a buffer of their own, in their turn.
      const records = new RecordBuffer();
      t.stats.changedRows += mask(this.out, records);
      const bytes = records.view();
      this.ordered.then(() => vault.appendRecords!(bytes));
    } else {
      // The vault's row() (or none): no workers (they need appendRecords), so nothing waits.
      t.stats.changedRows += mask(this.out, vault);
    }
  }

  /**
   * Rows masked on this thread by `mask` (into `out`, their records into `records`; returns
   * the rows changed), at once: straight out when nothing waits, else in their turn.
   */
  private masked(t: ActiveTable, mask: (out: ByteArea, records: RowRecorder | undefined) => number): void {
    const vault = this.vault;
    if (this.ordered.idle) {
      if (!vault?.appendRecords) {
        t.stats.changedRows += mask(this.out, vault);
        return;
      }
      this.deferred.reset();
      t.stats.changedRows += mask(this.out, this.deferred);
      vault.appendRecords(this.deferred.view());
      return;
    }
    // Its records wait in a buffer of the pool until their turn, then go back to it.
    const records = vault ? (this.waitingRecords.pop() ?? new RecordBuffer()) : undefined;
    records?.reset();
    this.writeInTurn(
      (out) => {
        t.stats.changedRows += mask(out, records);
      },
      () => {
        if (!records) return;
        vault!.appendRecords!(records.view());
        this.waitingRecords.push(records);
      },
    );
  }
}

interface InsertRun {
  table: ActiveTable;
  /** The ordinal of the row before its first. */
  first: number;
  /** Row offsets in runRows are from this stream offset (a run's fit in 32 bits, a dump's may not). */
  offsetBase: number;
  /** The ints of runRows its rows take. */
  rowInts: number;
  standardStrings: boolean;
  encoding: string;
}

/** Runs of INSERT statements go to a worker at about this size. */
const INSERT_RUN_BYTES = 256 * 1024;
