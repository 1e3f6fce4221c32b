// The one reader of what a dump's statements mean. It owns the statement scanner, the
// schema catalog learnt from the DDL, the dump's encoding and standard_conforming_strings,
// and tells its listeners what it read, as events:
//
//   read        every statement of the input, before anything is done with it (input checks)
//   ddl         a statement the catalog read (CREATE, ALTER, SET, a SELECT that is not
//               statistics), once it has learnt it; a setting it changes takes effect after
//               every listener has seen it, so what was read under the old one is finished first
//   insert      an INSERT statement, with its header when it is INSERT ... VALUES
//   statistics  a PostgreSQL 18 statistics statement (pg_restore_attribute_stats, ...)
//   other       any other statement
//   copyStart   COPY data begins (the handler says how its rows come), then rows, then copyEnd
//   end         the input ended
//
// Listeners that follow the dump (the coverage guard, an input check) see the statement
// events first; then the one handler, which also gets the bytes: what lies between
// statements and the COPY data it asked to see (text, copyRow, copyRows, copyFields). Mask,
// unmask (a dump, and by key), inspect and the leak scan are handlers; `mask
// --require-coverage` and `--leak-check` listen to the masker's router, so the input is
// read once.
//
// How an input form feeds it (an adapter owns the bytes and the order; the router, what
// they mean):
//
//   plain SQL        write(chunk) ... end(). COPY blocks and INSERT statements are found in it.
//   raw COPY data    learnSchema(schema file) if any; startCopyData({ form, target, csv,
//                    endMarker: 'optional' }); write(chunk) ...; end() (or endBlock()).
//                    Text, CSV (its header row naming the columns) or binary.
//   an archive       (pg_dump -Fc / -Fd, ../archive/: CustomArchiveReader,
//                    DirectoryArchiveReader) in TOC order: a TOC entry's definition (its
//                    `defn`, SET and DDL) → learnSchema(defn, { settings: true }): `ddl`
//                    (and `statistics`) events with `schemaOnly`, which the handler writes
//                    nowhere, since they stay in the TOC; a TABLE DATA block with a COPY
//                    statement (`copyStmt`) → startCopyData({ form: 'text', statement:
//                    copyStmt, endMarker: 'required' }), then write() of the decompressed
//                    block (it ends with pg_dump's `\.` line: copyStart, the rows, copyEnd,
//                    then text), then endBlock(), which fails on a block cut short; a
//                    TABLE DATA block of INSERT statements (pg_dump --inserts) → write() of
//                    the block, then endBlock() (no statement may be left open). The
//                    handler writes the bytes it is given where the adapter wants them
//                    (the block being written), and end() ends the archive.

import { PgcloakError, type SourcePosition } from '../errors.js';
import { BinaryCopyReader } from '../copy/binary-rows.js';
import { CsvRowReader, decodeCsvField, type CsvOptions } from '../copy/csv-rows.js';
import { dumpEncoding, UTF8_ENCODING, type DumpEncoding } from '../dump/encoding.js';
import { parseInsertHeader, type InsertHeader } from '../dump/insert-statement.js';
import type { LiteralOptions } from '../dump/sql-literal.js';
import { isIdentByte, SqlScanner, type AfterStatement, type CopyDataMode, type CopyLineCounter, type StatementWalk } from '../dump/sql-scanner.js';
import { parseStatsCall, type StatsCall, type UnreadableStatsCall } from '../dump/stats-statement.js';
import { SchemaCatalog, type CopyTarget, type LearntStatement } from '../schema/catalog.js';
import type { TextOptions } from './field-codecs.js';

export interface RoutedStatement {
  /** From its first byte up to and including its `;`; valid during the event only. */
  text: Buffer;
  at: SourcePosition;
  /** Its first word, upper-cased: CREATE, INSERT, COPY, ... ('' when it starts otherwise). */
  keyword: string;
  /** Read for the schema only (learnSchema: raw COPY data's schema file, a table declared from the rules, an archive's TOC entry): not part of the output, never written. */
  schemaOnly: boolean;
}

/** How COPY data is written: text (tab-separated, `\N`), CSV, or binary. */
export type CopyForm = 'text' | 'csv' | 'binary';

export interface CopyBlock {
  /** The table and its columns in data order, when the COPY names them. */
  target: CopyTarget;
  form: CopyForm;
  /** CSV data: its delimiter and quote. */
  csv: CsvOptions | undefined;
  /** The COPY statement when it stands in the input before its data (write it); undefined for data given apart from it (raw data, an archive's). */
  statement: RoutedStatement | undefined;
  /** Raw COPY data of one table (`COPY t TO STDOUT`), not part of a dump. */
  raw: boolean;
  /** Where the data begins (raw data), or its statement. */
  at: SourcePosition;
}

/** What follows a dump as it is read: statement events, before the handler sees them. */
export interface DumpListener {
  read?(s: RoutedStatement): void;
  ddl?(s: RoutedStatement, learnt: LearntStatement, sql: string): void;
  insert?(s: RoutedStatement, header: InsertHeader | undefined): void;
  statistics?(s: RoutedStatement, call: StatsCall | UnreadableStatsCall): void;
  other?(s: RoutedStatement): void;
  copyStart?(block: CopyBlock): void;
  end?(): void;
}

/** A dump as those who follow it see it: its schema so far, and its statements as they are read. */
export interface FollowedDump {
  readonly catalog: SchemaCatalog;
  listen(listener: DumpListener): void;
}

/**
 * What reads (and, for mask and unmask, writes) the dump: the statement events, and its
 * bytes. A statement's event is where it is written (a statement with `schemaOnly` is not).
 */
export interface DumpHandler extends DumpListener {
  /** Bytes that are no statement: white space, comments, psql meta-commands between statements; COPY data passed through. */
  text(buf: Buffer, start: number, end: number): void;
  /** The INSERT walk the handler may return is offered the statements that follow (see StatementWalk). */
  insert(s: RoutedStatement, header: InsertHeader | undefined): StatementWalk | undefined;
  /** How the rows of the block come: passed through (as text), one by one (copyRow), or in batches (copyRows). Raw CSV and binary rows come as copyFields. */
  copyStart(block: CopyBlock): CopyDataMode;
  copyRow(buf: Buffer, start: number, end: number, eolEnd: number, at: SourcePosition): void;
  copyRows?(buf: Buffer, start: number, end: number, at: SourcePosition, count: number): void;
  /** A raw CSV or binary row, its fields found: `buf[start..end)`, then its line end to `eolEnd`. */
  copyFields?(buf: Buffer, start: number, end: number, eolEnd: number, starts: readonly number[], ends: readonly number[], at: SourcePosition): void;
  copyEnd(rows: number): void;
}

/** COPY data given apart from its statement. */
export interface CopyDataStart {
  form: CopyForm;
  /** The COPY statement the data belongs to (an archive's); or, for raw data, its table and columns. */
  statement?: Buffer | undefined;
  target?: CopyTarget | undefined;
  /** CSV: its delimiter and quote, and whether a first row names the columns (it is passed through as text, and names them unless target.columns does). */
  csv?: (CsvOptions & { header: boolean }) | undefined;
  /** Raw data (`COPY t TO STDOUT`) may end without its `\.` line; an archive's ends with it. */
  endMarker: 'optional' | 'required';
}

/** Statements whose text the catalog reads (DDL, COPY, SET, SELECT set_config); everything else is only routed. */
const CATALOG_KEYWORDS: ReadonlySet<string> = new Set(['CREATE', 'ALTER', 'COPY', 'SET', 'SELECT']);

export interface RouterOptions {
  /** Counts COPY data lines many at a time (the native kernel's, when the engine has it). */
  lineCounter?: CopyLineCounter | undefined;
  /** The handler keeps no view of a row or statement past its call but those it lends (see SqlScanner). */
  handlerLends?: boolean;
  /** 'batch' rows are handed over in runs of about this many bytes (default: the scanner's). */
  batchBytes?: number | undefined;
}

export class StatementRouter {
  readonly catalog = new SchemaCatalog();
  private readonly handler: DumpHandler;
  private readonly listeners: DumpListener[] = [];
  private readonly scanner: SqlScanner;
  /** The dump's text encoding, changed by `SET client_encoding` as it streams by. */
  private textEncoding: DumpEncoding = UTF8_ENCODING;
  /** Set when client_encoding names a multi-byte encoding other than UTF-8 (masked rows cannot be read in it). */
  private unsupported: string | undefined;
  /** How string literals and fields are read in the settings in force; codecs read it at each call. */
  readonly literal: LiteralOptions & TextOptions = {
    standardStrings: true,
    encoding: 'utf8',
    fromUnicode: (text) => this.textEncoding.fromUnicode(text),
  };
  /** The last INSERT header read, and the settings it was read with. */
  private lastHeader: { bytes: Buffer; header: InsertHeader; schema: string; standardStrings: boolean; encoding: DumpEncoding } | undefined;
  /** What the input held: COPY blocks, INSERT statements. */
  sawCopy = false;
  sawInsert = false;
  /** The COPY block being read, if any. */
  private block: CopyBlock | undefined;
  /** COPY data given apart: its reader when it is CSV or binary, and whether a CSV header row is still to come. */
  private csv: CsvRowReader | undefined;
  private binary: BinaryCopyReader | undefined;
  private csvHeaderPending: { start: CopyDataStart; options: CsvOptions } | undefined;
  /** Rows of the CSV data that named its columns (0 or 1). */
  private csvHeaderRows = 0;

  constructor(handler: DumpHandler, options: RouterOptions = {}) {
    this.handler = handler;
    this.scanner = new SqlScanner(
      {
        emit: (buf, start, end) => this.handler.text(buf, start, end),
        statement: (text, at) => this.route(text, at),
        row: (buf, start, end, eolEnd, at) => this.handler.copyRow(buf, start, end, eolEnd, at),
        rows: (buf, start, end, at, count) => this.handler.copyRows!(buf, start, end, at, count),
        copyEnd: (rows) => this.copyEnd(rows),
      },
      { handlerLends: options.handlerLends ?? false, lineCounter: options.lineCounter },
    );
    if (options.batchBytes !== undefined) this.scanner.batchBytes = options.batchBytes;
  }

  /** `listener` is told of each statement before the handler (in the order listeners were added). */
  listen(listener: DumpListener): void {
    this.listeners.push(listener);
  }

  /** The dump's text encoding (UTF8 until a SET client_encoding names another). */
  get encoding(): DumpEncoding {
    return this.textEncoding;
  }

  /** The encoding's name as the dump gives it, also when it is one masked rows cannot be read in. */
  get encodingName(): string {
    return this.unsupported ?? this.textEncoding.name;
  }

  /** A multi-byte encoding other than UTF-8 the dump is in, if it is. */
  get unsupportedEncoding(): string | undefined {
    return this.unsupported;
  }

  /** The position of the next byte to be read. */
  get position(): SourcePosition {
    return this.scanner.position;
  }

  /** Bytes held for a COPY row or a statement that has not ended yet. */
  get heldBytes(): number {
    return this.scanner.heldBytes;
  }

  /** The table whose COPY data is being read, if any. */
  get copyTable(): string | undefined {
    return this.block?.target.key;
  }

  /** The columns of a COPY's data, in order: as its statement lists them, else as the table was declared. */
  columnsOf(target: CopyTarget): readonly string[] {
    return target.columns ?? this.catalog.tables.get(target.key)?.columns.map((c) => c.name) ?? [];
  }

  // ---- input ----------------------------------------------------------------

  /** More of the input: SQL text (with its COPY blocks), or COPY data given apart (startCopyData). */
  write(chunk: Buffer): void {
    if (this.csv) this.csv.write(chunk);
    else if (this.binary) this.binary.write(chunk);
    else this.scanner.write(chunk);
  }

  /** The input ended: nothing may be left open (a statement, a quote, COPY data without its end). */
  end(): void {
    this.endBlock();
    for (const l of this.listeners) l.end?.();
  }

  /**
   * Statements read for what they declare, apart from the input and not part of the output:
   * a schema-only dump given with raw COPY data, a table declared from the rules, an
   * archive's TOC entry. Their events come with `schemaOnly` (no `read`; an INSERT or COPY
   * data among them is passed over). `settings`: a SET of client_encoding or
   * standard_conforming_strings takes effect as in a dump (an archive's ENCODING and
   * STDSTRINGS entries); without it, not (raw COPY data is in the encoding it was written in,
   * whatever the schema file's dump says).
   */
  learnSchema(text: Buffer, options: { settings?: boolean } = {}): void {
    const learner: SqlScanner = new SqlScanner({
      emit: () => undefined,
      statement: (stmt, at) => this.route(stmt, at, { scanner: learner, settings: options.settings ?? false }),
      row: () => undefined,
      copyEnd: () => undefined,
    });
    learner.setStandardConformingStrings(this.literal.standardStrings);
    learner.write(text);
    learner.end();
  }

  /**
   * COPY data given apart from a dump follows: raw COPY data of one table (`target`), or an
   * archive's table data (`statement`, its COPY statement, learnt as a dump's would be).
   */
  startCopyData(start: CopyDataStart): void {
    let target = start.target;
    const at = this.position;
    if (start.statement !== undefined) {
      const learnt = this.catalog.learn(this.textEncoding.decodeText(start.statement), at);
      if (learnt.kind !== 'copy') throw new PgcloakError('INPUT_FORMAT', 'the statement of COPY data given apart is not a COPY ... FROM stdin', at);
      target = learnt.target;
    }
    if (!target) throw new Error('COPY data without its table');
    const raw = start.statement === undefined;
    if (start.form === 'csv') {
      const options: CsvOptions = { delimiter: start.csv!.delimiter, quote: start.csv!.quote };
      this.csv = new CsvRowReader({ row: (...args) => this.csvRow(...args) }, options);
      if (start.csv!.header) this.csvHeaderPending = { start: { ...start, target }, options };
      else this.startBlock({ target, form: 'csv', csv: options, statement: undefined, raw, at });
      return;
    }
    const mode = this.startBlock({ target, form: start.form, csv: undefined, statement: undefined, raw, at });
    if (start.form === 'binary') {
      this.binary = new BinaryCopyReader({
        header: (buf, s, e) => this.handler.text(buf, s, e),
        row: (buf, s, e, starts, ends, rowAt) => this.handler.copyFields!(buf, s, e, e, starts, ends, rowAt),
        trailer: (buf, s, e) => this.handler.text(buf, s, e),
      });
      return;
    }
    this.scanner.startInCopyData(mode, start.endMarker);
  }

  /**
   * A part of the input given apart has ended: COPY data (CSV and binary data end here, text
   * data with its `\.` line, or here when it may lack one), or an archive's data block.
   * Nothing may be left open in it: a statement, a quote, COPY data without its `\.` line.
   */
  endBlock(): void {
    try {
      if (this.csv) {
        const csv = this.csv;
        csv.end();
        this.csv = undefined;
        // Without its header row no block began: there was no row at all.
        if (this.block) this.copyEnd(csv.rows - this.csvHeaderRows);
      } else if (this.binary) {
        const binary = this.binary;
        binary.end();
        this.binary = undefined;
        this.copyEnd(binary.rows);
      } else {
        this.scanner.end();
      }
    } catch (err) {
      // Cut inside a table's data: say which table.
      if (err instanceof PgcloakError && err.code === 'COPY_UNTERMINATED' && this.block) {
        throw new PgcloakError(err.code, 'input ends inside COPY data: no `\\.` line (truncated dump?)', { ...err.position, table: this.block.target.key });
      }
      throw err;
    }
  }

  // ---- routing --------------------------------------------------------------

  /**
   * A statement, told to the listeners and the handler. `schema`: read by learnSchema (with
   * its own scanner, and whether its settings count), not part of the input.
   */
  private route(text: Buffer, at: SourcePosition, schema?: { scanner: SqlScanner; settings: boolean }): AfterStatement {
    const schemaOnly = schema !== undefined;
    const s: RoutedStatement = { text, at, keyword: firstKeyword(text), schemaOnly };
    const listeners = this.listeners;
    if (!schemaOnly) {
      for (const l of listeners) l.read?.(s);
      this.handler.read?.(s);
    }
    if (s.keyword === 'INSERT') {
      if (schemaOnly) return undefined;
      this.sawInsert = true;
      const header = this.insertHeader(text);
      for (const l of listeners) l.insert?.(s, header);
      return this.handler.insert(s, header);
    }
    if (s.keyword === 'SELECT') {
      const call = parseStatsCall(text, this.literal, this.textEncoding.decodeText);
      if (call !== undefined) {
        for (const l of listeners) l.statistics?.(s, call);
        this.handler.statistics?.(s, call);
        return undefined;
      }
    }
    if (!CATALOG_KEYWORDS.has(s.keyword)) {
      for (const l of listeners) l.other?.(s);
      this.handler.other?.(s);
      return undefined;
    }
    const sql = this.textEncoding.decodeText(text);
    const learnt = this.catalog.learn(sql, at);
    if (learnt.kind === 'copy') {
      if (schemaOnly) return 'passthrough';
      this.sawCopy = true;
      return this.startBlock({ target: learnt.target, form: 'text', csv: undefined, statement: s, raw: false, at });
    }
    for (const l of listeners) l.ddl?.(s, learnt, sql);
    this.handler.ddl?.(s, learnt, sql);
    // In force from the next statement on: what was read under the old setting is done.
    if (schema && !schema.settings) return undefined;
    if (learnt.kind === 'standard_conforming_strings') {
      this.scanner.setStandardConformingStrings(learnt.on);
      schema?.scanner.setStandardConformingStrings(learnt.on);
      this.literal.standardStrings = learnt.on;
    } else if (learnt.kind === 'client_encoding') {
      const encoding = dumpEncoding(learnt.name);
      this.unsupported = encoding ? undefined : learnt.name;
      this.textEncoding = encoding ?? UTF8_ENCODING;
      this.literal.encoding = this.textEncoding.fields;
    }
    return undefined;
  }

  private startBlock(block: CopyBlock): CopyDataMode {
    this.block = block;
    for (const l of this.listeners) l.copyStart?.(block);
    return this.handler.copyStart(block);
  }

  private copyEnd(rows: number): void {
    this.block = undefined;
    this.handler.copyEnd(rows);
  }

  /** A row of raw CSV data: the header row names the columns (and passes through), the rest are the table's. */
  private csvRow(buf: Buffer, start: number, end: number, eolEnd: number, starts: readonly number[], ends: readonly number[], at: SourcePosition): void {
    const pending = this.csvHeaderPending;
    if (pending === undefined) {
      this.handler.copyFields!(buf, start, end, eolEnd, starts, ends, at);
      return;
    }
    this.csvHeaderPending = undefined;
    this.csvHeaderRows = 1;
    const names = starts.map((s, i) => decodeCsvField(buf, s, ends[i]!, pending.options.quote, this.literal.encoding) ?? '');
    this.handler.text(buf, start, eolEnd);
    const target = pending.start.target!;
    this.startBlock({ target: { ...target, columns: target.columns ?? names }, form: 'csv', csv: pending.options, statement: undefined, raw: true, at });
  }

  /**
   * The statement's INSERT header. A dump repeats the same header statement after
   * statement: when the bytes up to the last one's VALUES are the same (and the settings
   * that read them), so is the header.
   */
  private insertHeader(text: Buffer): InsertHeader | undefined {
    const last = this.lastHeader;
    const schema = this.catalog.defaultSchema;
    const standardStrings = this.literal.standardStrings;
    if (last && last.schema === schema && last.standardStrings === standardStrings && last.encoding === this.textEncoding) {
      const n = last.bytes.length;
      if (text.length > n && text.compare(last.bytes, 0, n, 0, n) === 0 && !isIdentByte(text[n]!)) return last.header;
    }
    const header = parseInsertHeader(text, schema, standardStrings, this.textEncoding.decodeText);
    // Copied: the statement may be a view of the caller's chunk.
    this.lastHeader = header ? { bytes: Buffer.from(text.subarray(0, header.valuesEnd)), header, schema, standardStrings, encoding: this.textEncoding } : undefined;
    return header;
  }
}

/** How a plain SQL input holds its rows, for summaries and inspect. */
export function plainFormName(sawCopy: boolean, sawInsert: boolean): string {
  if (sawInsert && !sawCopy) return 'plain SQL with INSERT statements';
  if (sawInsert) return 'plain SQL with COPY blocks and INSERT statements';
  return 'plain pg_dump (COPY)';
}

/** The first word of a statement, upper-cased (ASCII), at most 16 bytes. */
export function firstKeyword(text: Buffer): string {
  let word = '';
  const n = Math.min(text.length, 16);
  for (let i = 0; i < n; i++) {
    const b = text[i]!;
    if (b >= 0x61 && b <= 0x7a) word += String.fromCharCode(b - 0x20);
    else if (b >= 0x41 && b <= 0x5a) word += String.fromCharCode(b);
    else break;
  }
  return word;
}
