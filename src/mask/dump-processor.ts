// What masking and unmasking a plain dump have in common: the scanner, the schema
// learnt from DDL, the table plans, per-table counts, the output batching, and finding
// the rows of planned tables in COPY blocks and in INSERT statements. Subclasses decide
// what happens to each such row (maskedRow).

import { PgcloakError } from '../errors.js';
import { isIdentByte, SqlScanner, type CopyDataMode, type ScannerHandler, type SourcePosition } from '../dump/sql-scanner.js';
import { MAGIC_BYTES, refuseBinaryText, refuseOtherForms } from '../dump/input-form.js';
import { InsertRowReader, parseInsertHeader, type InsertHeader } from '../dump/insert-statement.js';
import { insertTarget } from '../dump/insert-target.js';
import type { LiteralOptions } from '../dump/sql-literal.js';
import { SchemaCatalog } from '../schema/catalog.js';
import type { DeclaredKeys } from '../schema/declared-keys.js';
import { qualifiedKey } from '../schema/names.js';
import type { RuleSet } from '../rules/rules-file.js';
import { ByteSink, ScratchBuffer, type ByteArea, type ByteWriter, type Push } from './byte-sink.js';
import { OrderedOutput, orderedPush } from './parallel/ordered-output.js';
import type { BatchResult } from './parallel/worker-pool.js';
import { dumpEncoding, UTF8_ENCODING, type DumpEncoding } from '../dump/encoding.js';
import { CsvRowReader, decodeCsvField, type CsvOptions } from '../copy/csv-rows.js';
import { parseQualifiedName, quoteIdent } from '../schema/names.js';
import { BinaryCopyReader } from '../copy/binary-rows.js';
import { binaryCodec, copyTextCodec, csvCodec, sqlLiteralCodec, type FieldCodec, type TextOptions } from './field-codecs.js';
import { LONG_ROW_BYTES } from './masked-row.js';
import { RowMasker } from './row-masker.js';
import { StatisticsGuard, type StatisticsVerdict } from './statistics.js';
import { TablePlanner, type TablePlan } from './table-plans.js';

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

const DUMP_HEADER = Buffer.from('--\n-- PostgreSQL database dump\n');
const DUMP_TRAILER = Buffer.from('-- PostgreSQL database dump complete');
const TAIL_BYTES = 128;
/** How much of the input's start is looked at for binary bytes, at most (refuseBinaryText). */
const SNIFF_BYTES = 4096;

export interface ActiveTable {
  plan: TablePlan;
  row: RowMasker;
  stats: TableStats;
  /** Rows seen so far: per COPY block, or per table across INSERT statements. */
  counter: { rows: number };
}

export abstract class DumpProcessor implements ScannerHandler {
  protected readonly scanner: SqlScanner;
  protected readonly catalog = new SchemaCatalog();
  /** The keys the dump declares, when a subclass wants them (mask's key check): learnt with the catalog. */
  protected declaredKeys: DeclaredKeys | undefined;
  protected readonly planner: TablePlanner;
  /** Optimizer statistics statements: which carry a masked column's values. */
  private readonly statistics: StatisticsGuard;
  protected readonly out: ByteSink;
  protected active: ActiveTable | undefined;
  private copyStats: TableStats | undefined;
  /** INSERT plans by search_path, encoding and statement header; stats and row counters by table. */
  private readonly insertPlans = new Map<string, ActiveTable | null>();
  private readonly insertTables = new Map<string, { stats: TableStats; counter: { rows: number } }>();
  private lastHeader: HeaderEntry | undefined;
  /** The header of the statements offered to the native walk (`INSERT INTO t ... VALUES`), its table and field count. */
  protected walkHeader: { table: ActiveTable; bytes: Buffer; fields: number } | undefined;
  /** The dump's text encoding and string syntax, changed by SET statements as they stream by. */
  private textEncoding: DumpEncoding = UTF8_ENCODING;
  /** Set when client_encoding names a multi-byte encoding other than UTF-8. */
  private unsupportedEncoding: string | undefined;
  protected readonly literalOptions: LiteralOptions & TextOptions = {
    standardStrings: true,
    encoding: 'utf8',
    fromUnicode: (text) => this.textEncoding.fromUnicode(text),
  };
  private readonly sqlCodec: FieldCodec = sqlLiteralCodec(this.literalOptions);
  private readonly copyCodec: FieldCodec = copyTextCodec(this.literalOptions);
  /** What the input held: COPY blocks, INSERT statements, or both. */
  private sawCopy = false;
  private sawInsert = false;
  /** Raw COPY data instead of a dump (configureRawCopy). */
  private raw: RawCopyInput | undefined;
  private rawColumnNames: string[] | undefined;
  private csv: CsvRowReader | undefined;
  private binary: BinaryCopyReader | undefined;
  private csvOptions: CsvOptions | undefined;
  readonly tables: TableStats[] = [];
  readonly warnings: string[] = [];
  bytesIn = 0;
  bytesOut = 0;
  private head: Buffer = Buffer.alloc(0);
  /** The first bytes, held until there are MAGIC_BYTES of them to tell another form by (refuseOtherForms); then null. */
  private firstBytes: Buffer[] | null = [];
  private firstBytesLength = 0;
  /** The input's first SNIFF_BYTES, while its SQL text is looked at for binary bytes (sniffText); then null. */
  private sniff: Buffer | null = Buffer.alloc(0);
  /** How much of sniff was looked at. */
  private sniffFrom = 0;
  private tail: Buffer = Buffer.alloc(0);
  private readonly onWarning: ((message: string) => void) | undefined;

  /** Output (and, in subclasses, vault records) in input order while batches are out on workers. */
  protected readonly ordered = new OrderedOutput();
  /** Where output goes once its turn has come. */
  protected readonly downstream: Push;
  /** Rows done on this thread while batches are pending wait their turn in one of these. */
  private readonly local: ScratchBuffer[] = [];

  constructor(rules: RuleSet, push: Push, onWarning?: (message: string) => void) {
    // Views of a row or statement go out only through this.out, which lends them (ByteSink).
    this.scanner = new SqlScanner(this, { handlerLends: true });
    this.onWarning = onWarning;
    this.planner = new TablePlanner(rules, this.catalog, (m) => this.warn(m));
    this.statistics = new StatisticsGuard(this.planner, this.catalog, (m) => this.warn(m));
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

  /**
   * The key of keyed strategies (pseudonym, hash), and the pseudonym algorithm to mask with
   * (default: the current one): give them before the first write().
   */
  useStrategySecret(secret: Buffer | undefined, pseudonymVersion?: number): void {
    this.planner.secret = secret;
    this.planner.pseudonymVersion = pseudonymVersion;
  }

  /** The position of the next byte to be read, for progress displays. */
  get position(): SourcePosition {
    return this.scanner.position;
  }

  /** The table whose data is being read, if any. */
  get currentTable(): string | undefined {
    return this.copyStats?.table;
  }

  write(chunk: Buffer): void {
    if (this.firstBytes !== null) {
      // Copied: the caller may reuse the chunk's memory once its output is written.
      this.firstBytes.push(Buffer.from(chunk));
      this.firstBytesLength += chunk.length;
      if (this.firstBytesLength < MAGIC_BYTES) return;
      chunk = this.takeFirstBytes();
    }
    if (this.sniff !== null && this.sniff.length < SNIFF_BYTES) this.sniff = Buffer.concat([this.sniff, chunk.subarray(0, SNIFF_BYTES - this.sniff.length)]);
    if (this.head.length < DUMP_HEADER.length) this.head = Buffer.concat([this.head, chunk.subarray(0, DUMP_HEADER.length)]);
    // Copied: the caller may reuse the chunk's memory once its output is written.
    this.tail = chunk.length >= TAIL_BYTES ? Buffer.from(chunk.subarray(chunk.length - TAIL_BYTES)) : Buffer.concat([this.tail, chunk]).subarray(-TAIL_BYTES);
    this.bytesIn += chunk.length;
    if (this.csv) this.csv.write(chunk);
    else if (this.binary) this.binary.write(chunk);
    else {
      try {
        this.scanner.write(chunk);
      } catch (err) {
        // A first statement that outgrew every limit: binary input never ends one.
        throw err instanceof PgcloakError && err.code === 'STATEMENT_TOO_LARGE' ? this.binaryInstead(err) : err;
      }
    }
  }

  /** The first bytes held back (write), now that there are enough of them (or the input ended): refused if they are another form. */
  private takeFirstBytes(): Buffer {
    const first = Buffer.concat(this.firstBytes!);
    this.firstBytes = null;
    refuseOtherForms(first, this.raw?.format);
    return first;
  }

  /**
   * The input's start, up to the end of its first statement (one that begins with a keyword):
   * binary there is refused (refuseBinaryText). SQL text holds no control bytes, but a
   * value may (COPY data, an INSERT's literals, and from there on anything): this is where
   * binary input shows and nothing else does. `to`: the end of what was read so far;
   * undefined: all that was kept (the input ended, or a statement outgrew every limit).
   * `last`: the first statement was read.
   */
  private sniffText(to: number | undefined, last = false): void {
    const sniff = this.sniff;
    if (sniff === null) return;
    const end = Math.min(to ?? sniff.length, sniff.length);
    if (last || end >= SNIFF_BYTES) this.sniff = null;
    if (this.raw) return;
    const from = this.sniffFrom;
    this.sniffFrom = end;
    refuseBinaryText(sniff.subarray(0, end), from);
  }

  /** The error to report for `err` from reading SQL text: the input's being binary, if it is. */
  private binaryInstead(err: unknown): unknown {
    try {
      this.sniffText(undefined);
    } catch (binary) {
      return binary;
    }
    return err;
  }

  end(): void {
    if (this.firstBytes !== null) {
      const first = this.takeFirstBytes();
      if (first.length > 0) this.write(first);
    }
    try {
      if (this.csv) {
        this.csv.end();
        this.copyEnd(this.csv.rows - (this.raw?.header ? 1 : 0));
      }
      if (this.binary) {
        this.binary.end();
        this.copyEnd(this.binary.rows);
      }
      this.scanner.end();
    } catch (err) {
      if (err instanceof PgcloakError && err.code === 'COPY_UNTERMINATED' && this.copyStats) {
        throw new PgcloakError(err.code, 'input ends inside COPY data: no `\\.` line (truncated dump?)', {
          ...err.position,
          table: this.copyStats.table,
        });
      }
      throw this.binaryInstead(err);
    }
    // An input without a statement (comments, psql meta-commands, bytes): binary all the same?
    this.sniffText(undefined);
    this.out.flush();
    if (this.head.subarray(0, DUMP_HEADER.length).equals(DUMP_HEADER) && !this.tail.includes(DUMP_TRAILER)) {
      this.warn("the input starts like a pg_dump dump but lacks its 'dump complete' line: it may be truncated");
    }
  }

  emit(buf: Buffer, start: number, end: number): void {
    this.out.write(buf, start, end);
  }

  statement(text: Buffer, at: SourcePosition): CopyDataMode | undefined {
    const keyword = firstKeyword(text);
    // Binary input shows by its first statement (issue 18: random bytes and executables were
    // SQL_UNTERMINATED); an INSERT's or a COPY's own text is data, and not looked at.
    if (this.sniff !== null) this.sniffText(keyword === 'INSERT' || keyword === 'COPY' ? at.offset : at.offset + text.length, keyword !== '');
    if (keyword === 'INSERT') {
      this.sawInsert = true;
      this.insertStatement(text, at);
      return undefined;
    }
    if (keyword === 'SELECT') {
      const verdict = this.statisticsVerdict(text, at);
      if (verdict) {
        if (verdict.action === 'refuse') throw verdict.error;
        this.statisticsStatement(text, verdict, at);
        return undefined;
      }
    }
    this.out.write(text, 0, text.length);
    if (!CATALOG_KEYWORDS.has(keyword)) return undefined;
    const sql = this.textEncoding.decodeText(text);
    const learnt = this.catalog.learn(sql, at);
    this.declaredKeys?.learn(sql, this.catalog.defaultSchema);
    switch (learnt.kind) {
      case 'table':
        this.planner.onTable(learnt.table);
        return undefined;
      case 'standard_conforming_strings':
        this.settingsChanging();
        this.scanner.setStandardConformingStrings(learnt.on);
        this.literalOptions.standardStrings = learnt.on;
        return undefined;
      case 'client_encoding': {
        this.settingsChanging();
        const encoding = dumpEncoding(learnt.name);
        this.unsupportedEncoding = encoding ? undefined : learnt.name;
        this.textEncoding = encoding ?? UTF8_ENCODING;
        this.literalOptions.encoding = this.textEncoding.fields;
        return undefined;
      }
      case 'copy': {
        this.sawCopy = true;
        const plan = this.planner.planFor(learnt.target, at);
        const stats = newStats(learnt.target.key, plan);
        this.tables.push(stats);
        this.copyStats = stats;
        if (!plan) return 'passthrough';
        this.checkEncoding(plan, at);
        this.active = { plan, row: new RowMasker(plan, this.copyCodec), stats, counter: { rows: 0 } };
        this.onPlan(plan, 'copy-text', at);
        return this.copyRowsMode();
      }
      default:
        return undefined;
    }
  }

  row(buf: Buffer, start: number, end: number, eolEnd: number, at: SourcePosition): void {
    const t = this.active!;
    t.row.splitCopyRow(buf, start, end, at);
    this.maskedRow(t, buf, start, end, at);
    this.out.write(buf, end, eolEnd);
  }

  /** 'batch' mode: whole rows of the active table, each with its line end. */
  rows(buf: Buffer, start: number, end: number, at: SourcePosition, count: number): void {
    this.maskedRows(this.active!, buf, start, end, at, count);
  }

  /** How the rows of a planned COPY block come: one by one (maskedRow), or in batches (maskedRows). */
  protected copyRowsMode(): CopyDataMode {
    return 'rows';
  }

  /** Whole rows of a planned table, in 'batch' mode: `count` rows, `buf[start..end)`, line ends included. */
  protected maskedRows(_t: ActiveTable, _buf: Buffer, _start: number, _end: number, _at: SourcePosition, _count: number): void {
    throw new Error('maskedRows without batch mode');
  }

  /** Waits until at most `max` batches of rows are out (on worker threads); 0: until all are done and written. */
  settle(max: number): Promise<void> {
    // While a long row or statement is being gathered, every batch: when it ends, its output goes
    // out at once as views of it, rather than copied to wait behind batches (issue 18).
    return this.ordered.waitUntil(this.scanner.heldBytes >= LONG_ROW_BYTES ? 0 : max);
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
   * case each row of its VALUES goes through maskedRow. Only the header is read for
   * other tables: their rows are never parsed.
   */
  private insertStatement(text: Buffer, at: SourcePosition): void {
    const entry = this.insertHeader(text);
    const header = entry?.header;
    let active = entry?.active ?? null;
    if (entry && entry.active === undefined) {
      // What an unqualified name means depends on the search_path in force (and names' bytes on the encoding).
      const planKey = `${this.catalog.defaultSchema}\0${this.textEncoding.name}\0${entry.header.key}`;
      let planned = this.insertPlans.get(planKey);
      if (planned === undefined) {
        planned = this.planInsert(entry.header.target, entry.header.columns, at);
        this.insertPlans.set(planKey, planned);
      }
      active = planned;
      // The next statement with the same header (and settings) takes the same plan without the look-up.
      entry.active = active;
    }
    if (!header || active === null) {
      if (!header && this.statementTargetsRule(text)) {
        throw new PgcloakError('COPY_UNSUPPORTED', 'an INSERT of this form (not INSERT ... VALUES) writes to a masked table', { ...at });
      }
      this.out.write(text, 0, text.length);
      return;
    }
    const reader = new InsertRowReader(text, header.valuesEnd, this.literalOptions.standardStrings);
    let pos = 0;
    // Row positions advance with the rows: counting newlines from the statement's start
    // for every row would be quadratic in a multi-row INSERT.
    let rowAt = at;
    let counted = 0;
    try {
      while (reader.next()) {
        rowAt = positionIn(text, counted, reader.rowStart, rowAt);
        counted = reader.rowStart;
        this.out.write(text, pos, reader.rowStart);
        active.row.setFields(reader.starts, reader.ends, rowAt);
        this.maskedRow(active, text, reader.rowStart, reader.rowEnd, rowAt);
        pos = reader.rowEnd;
      }
      reader.checkTail();
    } catch (err) {
      if (err instanceof PgcloakError && err.position.line === undefined) {
        throw new PgcloakError(err.code, err.message.replace(/^[A-Z_]+: /, ''), { table: active.plan.table, ...positionIn(text, counted, reader.position, rowAt) });
      }
      throw err;
    }
    this.out.write(text, pos, text.length);
    active.stats.rows = active.counter.rows;
    this.insertDone(active, text, header);
  }

  /** Before a SET statement changes how strings are read (standard_conforming_strings, client_encoding). */
  protected settingsChanging(): void {}

  /** After an INSERT statement whose rows were masked (`text[0..header.valuesEnd)` its header). */
  protected insertDone(_t: ActiveTable, _text: Buffer, _header: InsertHeader): void {}

  /**
   * Hands the statement start after this INSERT statement to `take` (the native walk of the
   * statements with the same header, see SqlScanner.insertRun), keeping that header.
   */
  protected offerInsertWalk(t: ActiveTable, text: Buffer, header: InsertHeader, take: NonNullable<SqlScanner['insertRun']>): void {
    const known = this.walkHeader;
    const bytes = text.subarray(0, header.valuesEnd);
    // Copied: the statement may be a view of the caller's chunk.
    if (known?.table !== t || !known.bytes.equals(bytes)) this.walkHeader = { table: t, bytes: Buffer.from(bytes), fields: t.row.starts.length };
    this.scanner.insertRun = take;
  }

  /**
   * The statement's INSERT header. A dump repeats the same header statement after
   * statement: when the bytes up to the last one's VALUES are the same (and the settings
   * that read them), so is the header.
   */
  private insertHeader(text: Buffer): HeaderEntry | undefined {
    const last = this.lastHeader;
    const schema = this.catalog.defaultSchema;
    const standardStrings = this.literalOptions.standardStrings;
    if (last && last.schema === schema && last.standardStrings === standardStrings && last.encoding === this.textEncoding) {
      const n = last.bytes.length;
      if (text.length > n && text.compare(last.bytes, 0, n, 0, n) === 0 && !isIdentByte(text[n]!)) return last;
    }
    const header = parseInsertHeader(text, schema, standardStrings, this.textEncoding.decodeText);
    this.lastHeader = header ? { bytes: Buffer.from(text.subarray(0, header.valuesEnd)), header, schema, standardStrings, encoding: this.textEncoding, active: undefined } : undefined;
    return this.lastHeader;
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
    const target = insertTarget(this.textEncoding.decodeText(text.subarray(0, 1024)), this.catalog.defaultSchema);
    if (!target) return false;
    const key = qualifiedKey(target);
    return this.planner.ruleTableFor(key) !== undefined || this.planner.isRuled(key);
  }

  // ---- Raw COPY data --------------------------------------------------------

  /**
   * The input is raw COPY data of one table (`COPY t TO STDOUT`), not a dump. Call
   * before the first write. Column types come from `schemaText` (a schema-only dump)
   * or from `type:` in the rules.
   */
  configureRawCopy(raw: RawCopyInput): void {
    this.raw = raw;
    if (raw.schemaText !== undefined) this.learnSchema(Buffer.from(raw.schemaText, 'utf8'));
    const at = { line: 1, offset: 0 };
    if (raw.format === 'copy-csv') {
      this.csvOptions = { delimiter: oneByte(raw.delimiter, '--delimiter'), quote: oneByte(raw.quote, '--quote') };
      this.csv = new CsvRowReader({ row: (...args) => this.csvRow(...args) }, this.csvOptions);
      if (!raw.header) this.startRawTable(raw.columns, at);
    } else if (raw.format === 'copy-binary') {
      if (raw.schemaText === undefined) {
        throw new PgcloakError('USAGE', '--format copy-binary needs --schema FILE: binary values can only be read with every column\'s type');
      }
      this.startRawTable(raw.columns, at);
      this.binary = new BinaryCopyReader({
        header: (buf, start, end) => this.out.write(buf, start, end),
        row: (buf, start, end, starts, ends, rowAt) => this.rawRow(buf, start, end, end, starts, ends, rowAt),
        trailer: (buf, start, end) => this.out.write(buf, start, end),
      });
    } else {
      this.startRawTable(raw.columns, at);
      this.scanner.startInCopyData(this.active ? 'rows' : 'passthrough');
    }
  }

  /** The column names the raw data was read with (from --columns, the CSV header or the schema). */
  get rawColumns(): string[] | undefined {
    return this.rawColumnNames;
  }

  private startRawTable(columns: string[] | undefined, at: SourcePosition): void {
    const raw = this.raw!;
    const target = parseQualifiedName(raw.table);
    if (!target) throw new PgcloakError('USAGE', `--table ${raw.table}: not a table name`);
    const key = qualifiedKey(target);
    if (!this.catalog.tables.has(key)) this.declareFromRules(key, columns);
    const names = columns ?? this.catalog.tables.get(key)?.columns.map((c) => c.name);
    if (!names) throw new PgcloakError('USAGE', `raw COPY data of ${key}: give --columns (or --schema with its CREATE TABLE, or a CSV header)`);
    this.rawColumnNames = names;
    const plan = this.planner.planFor({ table: target, key, columns: names, nonDefaultOptions: [] }, at);
    const stats = newStats(key, plan);
    this.tables.push(stats);
    this.copyStats = stats;
    if (!plan) {
      this.warn(`no rule names ${key}: its data passes through unmasked`);
      return;
    }
    let codecs: FieldCodec | FieldCodec[];
    if (raw.format === 'copy-binary') {
      const table = this.catalog.tables.get(key)!;
      codecs = names.map((n) => {
        const column = table.columns.find((c) => c.name === n);
        if (!column) throw new PgcloakError('USAGE', `--columns names ${JSON.stringify(n)}, which ${key} does not have in the schema`);
        return binaryCodec(this.catalog.resolveType(column.type), this.literalOptions);
      });
    } else {
      codecs = raw.format === 'copy-csv' ? csvCodec(this.literalOptions, this.csvOptions!) : this.copyCodec;
    }
    this.active = { plan, row: new RowMasker(plan, codecs), stats, counter: { rows: 0 } };
    this.onPlan(plan, raw.format === 'copy-text' ? 'copy-text' : raw.format, at);
  }

  /** Without a schema, the table is what the rules say: their `type:` for ruled columns, text for the rest. */
  private declareFromRules(key: string, columns: string[] | undefined): void {
    const rule = this.planner.ruleFor(key);
    if (!rule || !columns) return;
    const defs = columns.map((c) => {
      const r = rule.columns.get(c);
      if (r && r.strategy.name !== 'keep' && r.type === undefined) {
        throw new PgcloakError('RULES_SCHEMA', `${r.path}: raw COPY data needs the column's type: give type: in the rule, or --schema FILE`);
      }
      return `${quoteIdent(c)} ${r?.type ?? 'text'}`;
    });
    const learnt = this.catalog.learn(`CREATE TABLE ${key} (${defs.join(', ')});`, { line: 1, offset: 0 });
    if (learnt.kind === 'table') this.planner.onTable(learnt.table);
  }

  /** Reads a schema-only dump's DDL into the catalog, writing nothing. */
  private learnSchema(text: Buffer): void {
    const learner = new SqlScanner({
      emit: () => undefined,
      statement: (stmt, at) => {
        if (!CATALOG_KEYWORDS.has(firstKeyword(stmt))) return undefined;
        const learnt = this.catalog.learn(this.textEncoding.decodeText(stmt), at);
        if (learnt.kind === 'table') this.planner.onTable(learnt.table);
        return learnt.kind === 'copy' ? 'passthrough' : undefined;
      },
      row: () => undefined,
      copyEnd: () => undefined,
    });
    learner.write(text);
    learner.end();
  }

  private csvRow(buf: Buffer, start: number, end: number, eolEnd: number, starts: readonly number[], ends: readonly number[], at: SourcePosition): void {
    if (this.rawColumnNames !== undefined) {
      this.rawRow(buf, start, end, eolEnd, starts, ends, at);
      return;
    }
    // The header row: column names, written as they are.
    const names = starts.map((s, i) => decodeCsvField(buf, s, ends[i]!, this.csvOptions!.quote, this.literalOptions.encoding) ?? '');
    this.out.write(buf, start, eolEnd);
    this.startRawTable(this.raw!.columns ?? names, at);
  }

  /** One row of raw CSV or binary COPY data, fields found by its reader. */
  private rawRow(buf: Buffer, start: number, end: number, eolEnd: number, starts: readonly number[], ends: readonly number[], at: SourcePosition): void {
    const t = this.active;
    if (t) {
      t.row.setFields(starts, ends, at);
      this.maskedRow(t, buf, start, end, at);
      this.out.write(buf, end, eolEnd);
    } else {
      this.out.write(buf, start, eolEnd);
    }
  }

  /** Masked rows in a multi-byte encoding other than UTF-8 cannot be read safely. */
  private checkEncoding(plan: TablePlan, at: SourcePosition): void {
    if (this.unsupportedEncoding === undefined) return;
    throw new PgcloakError('COPY_UNSUPPORTED', `client_encoding ${this.unsupportedEncoding}: only UTF8 and single-byte encodings can be masked (dump with --encoding=UTF8)`, {
      table: plan.table,
      ...at,
    });
  }

  /** The dump's encoding, as its SET client_encoding says (UTF8 until then). */
  get encodingName(): string {
    return this.unsupportedEncoding ?? this.textEncoding.name;
  }

  copyEnd(rows: number): void {
    if (this.copyStats) this.copyStats.rows = rows;
    this.copyStats = undefined;
    this.active = undefined;
  }

  /** What StatisticsGuard says of a statement, read with the settings in force; undefined when it is not statistics. */
  protected statisticsVerdict(text: Buffer, at: SourcePosition): StatisticsVerdict | undefined {
    return this.statistics.verdict(text, at, this.literalOptions, this.textEncoding.decodeText);
  }

  /**
   * A statement of optimizer statistics (StatisticsGuard), passed or to be reduced: masking
   * writes the reduced one and keeps the original, unmasking gives the original back.
   */
  protected abstract statisticsStatement(text: Buffer, verdict: Exclude<StatisticsVerdict, { action: 'refuse' }>, at: SourcePosition): void;

  /** Handles one row of a planned table: `buf[start..end)`, fields set in t.row. Writes it to `out`. */
  protected abstract maskedRow(t: ActiveTable, buf: Buffer, start: number, end: number, at: SourcePosition): void;

  /** Rows of a planned table begin (a COPY block, or the first INSERT of a statement shape), at `at`. */
  protected abstract onPlan(plan: TablePlan, encoding: FieldEncodingName, at: SourcePosition): void;

  /** The input form, for the summary. */
  get format(): string {
    if (this.raw) return `raw COPY data (${this.raw.format === 'copy-csv' ? 'CSV' : 'text'}) of ${this.raw.table}`;
    const encoding = this.encodingName === 'UTF8' ? '' : `, ${this.encodingName}`;
    return `${plainFormName(this.sawCopy, this.sawInsert)}${encoding}`;
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

/** The last INSERT header read, the settings it was read with, and its plan once looked up (null: no rule). */
interface HeaderEntry {
  bytes: Buffer;
  header: InsertHeader;
  schema: string;
  standardStrings: boolean;
  encoding: DumpEncoding;
  active: ActiveTable | null | undefined;
}

/** How a plain SQL input holds its rows, for summaries and inspect. */
export function plainFormName(sawCopy: boolean, sawInsert: boolean): string {
  if (sawInsert && !sawCopy) return 'plain SQL with INSERT statements';
  if (sawInsert) return 'plain SQL with COPY blocks and INSERT statements';
  return 'plain pg_dump (COPY)';
}

/** Raw COPY data given instead of a dump (--format copy-text|copy-csv|copy-binary). */
export interface RawCopyInput {
  format: 'copy-text' | 'copy-csv' | 'copy-binary';
  /** The table, as rules name tables: `t`, `s.t`, `"S"."T"`. */
  table: string;
  /** Column names in data order; else the CSV header or the schema's CREATE TABLE order. */
  columns: string[] | undefined;
  /** CSV: the first row names the columns. */
  header: boolean;
  delimiter: string;
  quote: string;
  /** A schema-only dump (pg_dump --schema-only), for column types. */
  schemaText: string | undefined;
}

function oneByte(text: string, option: string): number {
  if (text.length !== 1 || text.charCodeAt(0) > 0x7f) throw new PgcloakError('USAGE', `${option} must be one ASCII character`);
  return text.charCodeAt(0);
}

/** Statements whose text the catalog reads (DDL, COPY, SET); everything else is only written. */
const CATALOG_KEYWORDS: ReadonlySet<string> = new Set(['CREATE', 'ALTER', 'COPY', 'SET', 'SELECT']);

/** The first word of a statement, upper-cased (ASCII), at most 16 bytes. */
function firstKeyword(text: Buffer): string {
  let i = 0;
  const n = Math.min(text.length, 16);
  let word = '';
  while (i < n) {
    const b = text[i]!;
    if (b >= 0x61 && b <= 0x7a) word += String.fromCharCode(b - 0x20);
    else if (b >= 0x41 && b <= 0x5a) word += String.fromCharCode(b);
    else break;
    i++;
  }
  return word;
}

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
