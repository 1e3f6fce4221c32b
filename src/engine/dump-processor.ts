// What masking and unmasking a dump have in common, as the statement router's handler
// (./statement-router.ts): the table plans made from the rules as the DDL streams by,
// per-table counts, the output in input order, and finding the rows of planned tables in
// COPY blocks and in INSERT statements (raw COPY data too). Everything else is written as
// it is. Subclasses decide what happens to each such row (plannedRow) and to statistics.

import { PgcloakError, type SourcePosition } from '../errors.js';
import type { CopyDataMode, StatementWalk } from '../dump/sql-scanner.js';
import { InsertRowReader, type InsertHeader } from '../dump/insert-statement.js';
import { insertTarget } from '../dump/insert-target.js';
import type { StatsCall, UnreadableStatsCall } from '../dump/stats-statement.js';
import type { LearntStatement } from '../schema/catalog.js';
import { qualifiedKey, quoteIdent } from '../schema/names.js';
import type { RuleSet } from '../rules/rules-file.js';
import { ByteSink, ScratchBuffer, type ByteArea, type Push } from '../io/byte-sink.js';
import { DumpInput } from './dump-input.js';
import { binaryCodec, copyTextCodec, csvCodec, sqlLiteralCodec, type FieldCodec } from './field-codecs.js';
import { LONG_ROW_BYTES } from './masked-row.js';
import { OrderedOutput, orderedPush } from './ordered-output.js';
import type { RowKernel } from './row-kernel.js';
import { RowMasker } from './row-masker.js';
import { plainFormName, StatementRouter, type CopyBlock, type DumpHandler, type DumpListener, type RoutedStatement } from './statement-router.js';
import { StatisticsGuard, type StatisticsVerdict } from './statistics.js';
import { TablePlanner, type PlannerOptions, type TablePlan } from './table-plans.js';
import type { RawCopyConfig } from './raw-copy.js';
import type { BatchResult } from './workers/row-workers.js';

export interface TableStats {
  table: string;
  /** The table whose rule applies (differs for partitions). */
  ruleTable: string | undefined;
  rows: number;
  /** Rows where at least one field changed. */
  changedRows: number;
  maskedColumns: string[];
  keyedByPosition: boolean;
}

export interface RunSummary {
  format: string;
  tables: TableStats[];
  warnings: string[];
  notExisting: string[];
  bytesIn: number;
  bytesOut: number;
}

export interface ActiveTable {
  plan: TablePlan;
  row: RowMasker;
  stats: TableStats;
  /** Rows seen so far: per COPY block, or per table across INSERT statements. */
  counter: { rows: number };
}

/** Settings a processor is made with, all at once (the run's options normalised, ../mask/options.ts, ../unmask/options.ts). */
export interface ProcessorOptions extends PlannerOptions {
  /** The row kernel of the run (./kernel-choice.ts): it masks or restores rows, and walks COPY lines. */
  kernel: RowKernel;
  /** Rows of COPY blocks are handed over in batches of about this many bytes (default: the scanner's). */
  batchBytes?: number | undefined;
  /** The input is raw COPY data of one table, not a dump. */
  raw?: RawCopyConfig | undefined;
  /** Each warning, as it is given (they are also kept for the summary). */
  onWarning?: ((message: string) => void) | undefined;
}

export abstract class DumpProcessor implements DumpHandler {
  /** Reads the dump: its statements, schema, encoding; this processor is its handler. */
  protected readonly router: StatementRouter;
  protected readonly kernel: RowKernel;
  protected readonly planner: TablePlanner;
  /** Optimizer statistics statements: which carry a masked column's values. */
  private readonly statisticsGuard: StatisticsGuard;
  protected readonly out: ByteSink;
  protected active: ActiveTable | undefined;
  private copyStats: TableStats | undefined;
  /** INSERT plans by search_path, encoding and statement header; stats and row counters by table. */
  private readonly insertPlans = new Map<string, ActiveTable | null>();
  private readonly insertTables = new Map<string, { stats: TableStats; counter: { rows: number } }>();
  /** The last INSERT header read and its plan (null: no rule). */
  private lastHeader: InsertHeader | undefined;
  private lastActive: ActiveTable | null = null;
  /** The header of the statements offered to the kernel's INSERT walk (`INSERT INTO t ... VALUES`), its table and field count. */
  protected walkHeader: { table: ActiveTable; bytes: Buffer; fields: number } | undefined;
  private readonly sqlCodec: FieldCodec;
  private readonly copyCodec: FieldCodec;
  /** Raw COPY data instead of a dump. */
  private readonly raw: RawCopyConfig | undefined;
  private rawColumnNames: readonly string[] | undefined;
  /** Checks the input on its way to the router (made with the first byte, once the input form is known). */
  private input: DumpInput | undefined;
  readonly tables: TableStats[] = [];
  readonly warnings: string[] = [];
  bytesOut = 0;
  private readonly onWarning: ((message: string) => void) | undefined;

  /** Output (and, in subclasses, vault records) in input order while batches are out on workers. */
  protected readonly ordered = new OrderedOutput();
  /** Where output goes once its turn has come. */
  protected readonly downstream: Push;
  /** Rows done on this thread while batches are pending wait their turn in one of these. */
  private readonly local: ScratchBuffer[] = [];

  constructor(rules: RuleSet, push: Push, options: ProcessorOptions) {
    this.kernel = options.kernel;
    this.raw = options.raw;
    // Views of a row or statement go out only through this.out, which lends them (ByteSink).
    this.router = new StatementRouter(this, { handlerLends: true, lineCounter: options.kernel.lineCounter, batchBytes: options.batchBytes });
    this.onWarning = options.onWarning;
    this.planner = new TablePlanner(rules, this.router.catalog, (m) => this.warn(m), options);
    this.statisticsGuard = new StatisticsGuard(this.planner, this.router.catalog, (m) => this.warn(m));
    this.sqlCodec = sqlLiteralCodec(this.router.literal);
    this.copyCodec = copyTextCodec(this.router.literal);
    this.downstream = push;
    const inOrder = orderedPush(this.ordered, push);
    this.out = new ByteSink((chunk, release) => {
      this.bytesOut += chunk.length;
      inOrder(chunk, release);
    });
  }

  /**
   * The one way a warning is given: kept for the summary (and --json), and handed to
   * onWarning at once (the CLI prints it, under --quiet too). Issue 18: warnings pushed
   * past it were counted in the summary but never shown.
   */
  protected warn(message: string): void {
    this.warnings.push(message);
    this.onWarning?.(message);
  }

  /** Follows the dump's statements as they are read, before this processor handles each (see StatementRouter). */
  listen(listener: DumpListener): void {
    this.router.listen(listener);
  }

  /** The schema the dump declared so far. */
  get catalog(): StatementRouter['catalog'] {
    return this.router.catalog;
  }

  /** The position of the next byte to be read, for progress displays. */
  get position(): SourcePosition {
    return this.router.position;
  }

  /** The table whose data is being read, if any. */
  get currentTable(): string | undefined {
    return this.copyStats?.table;
  }

  /** Bytes of input read so far. */
  get bytesIn(): number {
    return this.input?.bytesIn ?? 0;
  }

  /** The input checks in front of the router, made with the first byte (or the end): raw COPY data starts there. */
  private dumpInput(): DumpInput {
    if (this.input) return this.input;
    this.input = new DumpInput(this.router, this.raw?.format, (m) => this.warn(m));
    if (this.raw) this.startRawCopy(this.raw);
    return this.input;
  }

  write(chunk: Buffer): void {
    this.dumpInput().write(chunk);
  }

  end(): void {
    this.dumpInput().end();
    this.out.flush();
  }

  /** Bytes that go out as they are (between statements, statements, the text around rows, line ends). */
  protected verbatim(buf: Buffer, start: number, end: number): void {
    this.out.write(buf, start, end);
  }

  // ---- router events --------------------------------------------------------

  text(buf: Buffer, start: number, end: number): void {
    this.verbatim(buf, start, end);
  }

  other(s: RoutedStatement): void {
    if (!s.schemaOnly) this.verbatim(s.text, 0, s.text.length);
  }

  ddl(s: RoutedStatement, learnt: LearntStatement): void {
    if (!s.schemaOnly) this.verbatim(s.text, 0, s.text.length);
    if (learnt.kind === 'table') this.planner.onTable(learnt.table);
    else if (learnt.kind === 'standard_conforming_strings' || learnt.kind === 'client_encoding') this.settingsChanging();
  }

  statistics(s: RoutedStatement, call: StatsCall | UnreadableStatsCall): void {
    // A schema file's statistics are not the output's (an archive's TOC entries are the archive adapter's to rewrite).
    if (s.schemaOnly) return;
    const verdict = this.statisticsGuard.verdict(s.text, call, s.at, this.router.literal);
    if (verdict.action === 'refuse') throw verdict.error;
    this.statisticsStatement(s.text, verdict, s.at);
  }

  copyStart(block: CopyBlock): CopyDataMode {
    if (block.raw) return this.startRawTable(block);
    const { target, at, statement } = block;
    if (statement) this.verbatim(statement.text, 0, statement.text.length);
    const plan = this.planner.planFor(target, at);
    const stats = newStats(target.key, plan);
    this.tables.push(stats);
    this.copyStats = stats;
    if (!plan) return 'passthrough';
    this.checkEncoding(plan, at);
    this.active = { plan, row: new RowMasker(plan, this.copyCodec), stats, counter: { rows: 0 } };
    this.onPlan(plan, 'copy-text', at);
    return this.copyRowsMode();
  }

  copyRow(buf: Buffer, start: number, end: number, eolEnd: number, at: SourcePosition): void {
    const t = this.active!;
    t.row.splitCopyRow(buf, start, end, at);
    this.plannedRow(t, buf, start, end, at);
    this.verbatim(buf, end, eolEnd);
  }

  /** 'batch' mode: whole rows of the active table, each with its line end. */
  copyRows(buf: Buffer, start: number, end: number, at: SourcePosition, count: number): void {
    this.plannedRows(this.active!, buf, start, end, at, count);
  }

  /** One row of raw CSV or binary COPY data, fields found by its reader. */
  copyFields(buf: Buffer, start: number, end: number, eolEnd: number, starts: readonly number[], ends: readonly number[], at: SourcePosition): void {
    const t = this.active;
    if (t) {
      t.row.setFields(starts, ends, at);
      this.plannedRow(t, buf, start, end, at);
      this.verbatim(buf, end, eolEnd);
    } else {
      this.verbatim(buf, start, eolEnd);
    }
  }

  copyEnd(rows: number): void {
    if (this.copyStats) this.copyStats.rows = rows;
    this.copyStats = undefined;
    this.active = undefined;
  }

  /** How the rows of a planned COPY block come: one by one (plannedRow), or in batches (plannedRows). */
  protected copyRowsMode(): CopyDataMode {
    return 'rows';
  }

  /** Whole rows of a planned table, in 'batch' mode: `count` rows, `buf[start..end)`, line ends included. */
  protected plannedRows(_t: ActiveTable, _buf: Buffer, _start: number, _end: number, _at: SourcePosition, _count: number): void {
    throw new Error('plannedRows without batch mode');
  }

  /** Waits until at most `max` batches of rows are out (on worker threads); 0: until all are done and written. */
  settle(max: number): Promise<void> {
    // While a long row or statement is being gathered, every batch: when it ends, its output goes
    // out at once as views of it, rather than copied to wait behind batches (issue 18).
    return this.ordered.waitUntil(this.router.heldBytes >= LONG_ROW_BYTES ? 0 : max);
  }

  /**
   * Output made on this thread while batches are out: `write` writes it into a scratch
   * buffer, which goes out in its turn, after `before` (vault records that wait with it).
   */
  protected writeInTurn(write: (out: ByteArea) => void, before?: () => void): void {
    // What was written before goes out before it.
    this.out.flush();
    // A buffer of the pool, back in it once its bytes are written: no copy, no garbage per batch.
    const local = this.local.pop() ?? new ScratchBuffer();
    local.reset();
    write(local);
    const out = local.view();
    this.ordered.then(() => {
      before?.();
      this.bytesOut += out.length;
      this.downstream(out, () => this.local.push(local));
    });
  }

  /** A batch of rows handed to a worker: its result goes out in its turn (applyBatch). */
  protected sendBatch(t: ActiveTable, result: Promise<BatchResult>): void {
    // What was written before these rows goes out before them.
    this.out.flush();
    this.ordered.job(result, (done) => this.applyBatch(t, done));
  }

  /** A batch's result, in its turn: its output, stats and warnings. */
  protected applyBatch(t: ActiveTable, done: BatchResult): void {
    this.bytesOut += done.out.length;
    this.downstream(done.out, done.release);
    t.stats.changedRows += done.changed;
    for (const w of done.warnings) if (!this.warnings.includes(w)) this.warn(w);
  }

  /**
   * An INSERT statement: written as it is unless a rule applies to its table, in which
   * case each row of its VALUES goes through plannedRow. Only the header is read for
   * other tables: their rows are never parsed. Returns the walk the subclass offers the
   * statements that follow (insertDone).
   */
  insert(s: RoutedStatement, header: InsertHeader | undefined): StatementWalk | undefined {
    const { text, at } = s;
    let active: ActiveTable | null = null;
    if (header && header === this.lastHeader) {
      // The router read the same header again (and under the same settings): the same plan, without the look-up.
      active = this.lastActive;
    } else if (header) {
      // What an unqualified name means depends on the search_path in force (and names' bytes on the encoding).
      const planKey = `${this.router.catalog.defaultSchema}\0${this.router.encoding.name}\0${header.key}`;
      let planned = this.insertPlans.get(planKey);
      if (planned === undefined) {
        planned = this.planInsert(header.target, header.columns, at);
        this.insertPlans.set(planKey, planned);
      }
      active = planned;
      this.lastHeader = header;
      this.lastActive = active;
    }
    if (!header || active === null) {
      if (!header && this.statementTargetsRule(text)) {
        throw new PgcloakError('COPY_UNSUPPORTED', 'an INSERT of this form (not INSERT ... VALUES) writes to a masked table', { ...at });
      }
      this.verbatim(text, 0, text.length);
      return undefined;
    }
    const reader = new InsertRowReader(text, header.valuesEnd, this.router.literal.standardStrings);
    let pos = 0;
    // Row positions advance with the rows: counting newlines from the statement's start
    // for every row would be quadratic in a multi-row INSERT.
    let rowAt = at;
    let counted = 0;
    try {
      while (reader.next()) {
        rowAt = positionIn(text, counted, reader.rowStart, rowAt);
        counted = reader.rowStart;
        this.verbatim(text, pos, reader.rowStart);
        active.row.setFields(reader.starts, reader.ends, rowAt);
        this.plannedRow(active, text, reader.rowStart, reader.rowEnd, rowAt);
        pos = reader.rowEnd;
      }
      reader.checkTail();
    } catch (err) {
      if (err instanceof PgcloakError && err.position.line === undefined) {
        throw new PgcloakError(err.code, err.message.replace(/^[A-Z_]+: /, ''), { table: active.plan.table, ...positionIn(text, counted, reader.position, rowAt) });
      }
      throw err;
    }
    this.verbatim(text, pos, text.length);
    active.stats.rows = active.counter.rows;
    return this.insertDone(active, text, header);
  }

  /** Before a SET statement changes how strings are read (standard_conforming_strings, client_encoding). */
  protected settingsChanging(): void {}

  /** After an INSERT statement whose rows were masked (`text[0..header.valuesEnd)` its header): the walk offered the statements after it, if any. */
  protected insertDone(_t: ActiveTable, _text: Buffer, _header: InsertHeader): StatementWalk | undefined {
    return undefined;
  }

  /**
   * `take` (the kernel's walk of the statements with the same header, see StatementWalk), to
   * be offered the statement start after this INSERT statement; the header is kept for it.
   */
  protected insertWalk(t: ActiveTable, text: Buffer, header: InsertHeader, take: StatementWalk): StatementWalk {
    const known = this.walkHeader;
    const bytes = text.subarray(0, header.valuesEnd);
    // Copied: the statement may be a view of the caller's chunk.
    if (known?.table !== t || !known.bytes.equals(bytes)) this.walkHeader = { table: t, bytes: Buffer.from(bytes), fields: t.row.starts.length };
    return take;
  }

  /** A plan for the rows of INSERTs with this target and column list, or null when no rule applies. */
  private planInsert(target: { schema: string; name: string }, columns: string[] | undefined, at: SourcePosition): ActiveTable | null {
    const key = qualifiedKey(target);
    const plan = this.planner.planFor({ table: target, key, columns, nonDefaultOptions: [] }, at, 'INSERT');
    if (!plan) return null;
    this.checkEncoding(plan, at);
    this.onPlan(plan, 'sql-literal', at);
    let table = this.insertTables.get(key);
    if (!table) {
      table = { stats: newStats(key, plan), counter: { rows: 0 } };
      this.tables.push(table.stats);
      this.insertTables.set(key, table);
    }
    return { plan, row: new RowMasker(plan, this.sqlCodec), stats: table.stats, counter: table.counter };
  }

  /** For an INSERT we cannot read: does it name a ruled table? */
  private statementTargetsRule(text: Buffer): boolean {
    const target = insertTarget(this.router.encoding.decodeText(text.subarray(0, 1024)), this.router.catalog.defaultSchema);
    if (!target) return false;
    const key = qualifiedKey(target);
    return this.planner.ruleTableFor(key) !== undefined || this.planner.isRuled(key);
  }

  // ---- Raw COPY data --------------------------------------------------------

  /**
   * The input is raw COPY data of one table (`COPY t TO STDOUT`), not a dump: it starts inside
   * the table's data. Column types come from `schemaText` (a schema-only dump) or from `type:`
   * in the rules.
   */
  private startRawCopy(raw: RawCopyConfig): void {
    if (raw.schemaText !== undefined) this.router.learnSchema(Buffer.from(raw.schemaText, 'utf8'));
    const form = raw.format === 'copy-csv' ? 'csv' : raw.format === 'copy-binary' ? 'binary' : 'text';
    const columns = raw.columns && [...raw.columns];
    this.router.startCopyData({ form, target: { table: raw.table, key: raw.key, columns, nonDefaultOptions: [] }, csv: raw.csv, endMarker: 'optional' });
  }

  /** The column names the raw data was read with (from `raw.columns`, the CSV header or the schema). */
  get rawColumns(): readonly string[] | undefined {
    return this.rawColumnNames;
  }

  /** Raw COPY data begins (for CSV with a header, after it): its plan, and how its rows come. */
  private startRawTable(block: CopyBlock): CopyDataMode {
    const { target, at } = block;
    const key = target.key;
    const catalog = this.router.catalog;
    if (!catalog.tables.has(key)) this.declareFromRules(key, target.columns);
    const names = target.columns ?? catalog.tables.get(key)?.columns.map((c) => c.name);
    if (!names) throw new PgcloakError('USAGE', `raw COPY data of ${key}: give \`raw.columns\` (or \`raw.schemaText\` with its CREATE TABLE, or a CSV header)`);
    this.rawColumnNames = names;
    const plan = this.planner.planFor({ ...target, columns: names }, at);
    const stats = newStats(key, plan);
    this.tables.push(stats);
    this.copyStats = stats;
    if (!plan) {
      this.warn(`no rule names ${key}: its data passes through unmasked`);
      return 'passthrough';
    }
    let codecs: FieldCodec | FieldCodec[];
    if (block.form === 'binary') {
      const table = catalog.tables.get(key)!;
      codecs = names.map((n) => {
        const column = table.columns.find((c) => c.name === n);
        if (!column) throw new PgcloakError('USAGE', `\`raw.columns\` names ${JSON.stringify(n)}, which ${key} does not have in the schema`);
        return binaryCodec(catalog.resolveType(column.type), this.router.literal);
      });
    } else {
      codecs = block.form === 'csv' ? csvCodec(this.router.literal, block.csv!) : this.copyCodec;
    }
    this.active = { plan, row: new RowMasker(plan, codecs), stats, counter: { rows: 0 } };
    this.onPlan(plan, block.form === 'text' ? 'copy-text' : block.form === 'csv' ? 'copy-csv' : 'copy-binary', at);
    return 'rows';
  }

  /** Without a schema, the table is what the rules say: their `type:` for ruled columns, text for the rest. */
  private declareFromRules(key: string, columns: readonly string[] | undefined): void {
    const rule = this.planner.ruleFor(key);
    if (!rule || !columns) return;
    const defs = columns.map((c) => {
      const r = rule.columns.get(c);
      if (r && r.strategy.name !== 'keep' && r.type === undefined) {
        throw new PgcloakError('RULES_SCHEMA', `${r.path}: raw COPY data needs the column's type: give type: in the rule, or \`raw.schemaText\``);
      }
      return `${quoteIdent(c)} ${r?.type ?? 'text'}`;
    });
    this.router.learnSchema(Buffer.from(`CREATE TABLE ${key} (${defs.join(', ')});`, 'utf8'));
  }

  /** Masked rows in a multi-byte encoding other than UTF-8 cannot be read safely. */
  private checkEncoding(plan: TablePlan, at: SourcePosition): void {
    const unsupported = this.router.unsupportedEncoding;
    if (unsupported === undefined) return;
    throw new PgcloakError('COPY_UNSUPPORTED', `client_encoding ${unsupported}: only UTF8 and single-byte encodings can be masked (dump with --encoding=UTF8)`, {
      table: plan.table,
      ...at,
    });
  }

  /** The dump's encoding, as its SET client_encoding says (UTF8 until then). */
  get encodingName(): string {
    return this.router.encodingName;
  }

  /** What StatisticsGuard says of a statement, read with the settings in force; undefined when it is not statistics. */
  protected statisticsVerdict(text: Buffer, at: SourcePosition): StatisticsVerdict | undefined {
    return this.statisticsGuard.verdictOf(text, at, this.router.literal, this.router.encoding.decodeText);
  }

  /**
   * A statement of optimizer statistics (StatisticsGuard), passed or to be reduced: masking
   * writes the reduced one and keeps the original, unmasking gives the original back.
   */
  protected abstract statisticsStatement(text: Buffer, verdict: Exclude<StatisticsVerdict, { action: 'refuse' }>, at: SourcePosition): void;

  /** One row of a planned table, `buf[start..end)` (fields set in t.row): written to `out` masked (mask) or restored (unmask). */
  protected abstract plannedRow(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition): void;

  /** Rows of a planned table begin (a COPY block, or the first INSERT of a statement shape), at `at`. */
  protected abstract onPlan(plan: TablePlan, encoding: FieldEncodingName, at: SourcePosition): void;

  /** The input form, for the summary. */
  get format(): string {
    if (this.raw) return `raw COPY data (${this.raw.format === 'copy-csv' ? 'CSV' : 'text'}) of ${this.raw.input.table}`;
    const encoding = this.encodingName === 'UTF8' ? '' : `, ${this.encodingName}`;
    return `${plainFormName(this.router.sawCopy, this.router.sawInsert)}${encoding}`;
  }

  summary(format: string = this.format): RunSummary {
    return {
      format,
      tables: this.tables,
      warnings: this.warnings,
      notExisting: this.planner.notExisting(),
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
    };
  }
}

type FieldEncodingName = FieldCodec['encoding'];

function newStats(table: string, plan: TablePlan | undefined): TableStats {
  return {
    table,
    ruleTable: plan?.ruleTable,
    rows: 0,
    changedRows: 0,
    maskedColumns: plan ? plan.masked.map((m) => m.name) : [],
    keyedByPosition: plan !== undefined && plan.keyIndexes.length === 0,
  };
}

/** The position of `text[to]`, given the position `at` of `text[from]` (from <= to). */
function positionIn(text: Buffer, from: number, to: number, at: SourcePosition): SourcePosition {
  let line = at.line;
  for (let p = text.indexOf(0x0a, from); p !== -1 && p < to; p = text.indexOf(0x0a, p + 1)) line++;
  return { line, offset: at.offset + (to - from) };
}
