// The leak scan's core: reads a masked dump and counts, per place, where the words of a
// masked original value (originals.ts) appear one after the other. Places are a column of
// a table's rows (COPY fields after COPY-unescaping, INSERT values after SQL-unquoting), the
// optimizer statistics of a column (pg_restore_attribute_stats statements, PostgreSQL 18), a
// kind of statement (CREATE SEQUENCE, COMMENT ON, ...), or the text between statements
// (comments, psql meta-commands). A value is matched within one field, one statement or
// one stretch of text between statements, never across them; a place counts one find per
// word position where some original value starts.
//
// The originals' filters need the dump's column types (to know which masked columns hold
// text), and pg_dump writes every CREATE TABLE before any data: the text met before the
// first COPY or INSERT is held back (up to HELD_LIMIT characters) while the DDL is learnt,
// then the filters are built and that text is scanned too.

import { decodeCopyField, isCopyNull } from '../copy/text-field.js';
import { InsertRowReader, type InsertHeader } from '../dump/insert-statement.js';
import { decodeSqlLiteral, type LiteralOptions } from '../dump/sql-literal.js';
import { isUnreadable, pairValue, type StatsCall, type UnreadableStatsCall } from '../dump/stats-statement.js';
import type { CopyDataMode } from '../dump/sql-scanner.js';
import { rowKernel } from '../engine/kernel-choice.js';
import { StatementRouter, type CopyBlock, type DumpHandler, type RoutedStatement } from '../engine/statement-router.js';
import type { SourcePosition } from '../errors.js';
import type { LearntStatement, SchemaCatalog } from '../schema/catalog.js';
import { qualifiedKey, quoteIdent } from '../schema/names.js';
import { MAX_WORDS, type OriginalsIndex } from './originals.js';
import { WordList, extendSequence, startSequence, type SequenceHash } from './words.js';
import { BYTE } from '../io/byte-codes.js';

const { TAB, NL } = BYTE;

const HELD_LIMIT = 64 * 1024 * 1024;

export interface LeakPlace {
  /**
   * data: a column of a table's rows; statistics: the optimizer statistics of a relation or
   * one of its columns; sql: statements of one kind; between: comments and psql commands
   * between statements.
   */
  kind: 'data' | 'statistics' | 'sql' | 'between';
  table?: string;
  column?: string;
  /** For kind sql: the statement's leading keywords, e.g. CREATE SEQUENCE. */
  statement?: string;
  count: number;
  /** The line of the first find. */
  firstLine: number;
}

export interface LeakReport {
  /** Places holding at least one find, in dump order of their first find. */
  places: LeakPlace[];
  finds: number;
  /** Original values looked for (counting repeats), and distinct word sequences among them. */
  values: number;
  distinct: number;
  filterBytes: number;
  /** Lookups in the filter of whole values, each of which errs with probability < falsePositiveBound. */
  lookups: number;
  falsePositiveBound: number;
  /** lookups × falsePositiveBound: how many of the finds may be false, at most, on average. */
  expectedFalseFinds: number;
  bytesScanned: number;
}

interface Held {
  text: string;
  place: LeakPlace;
  line: number;
}

export class LeakScanner implements DumpHandler {
  private readonly router = new StatementRouter(this, { lineCounter: rowKernel().lineCounter });
  private readonly provideIndex: (catalog: SchemaCatalog) => OriginalsIndex;
  private index: OriginalsIndex | undefined;
  private held: Held[] = [];
  private heldChars = 0;
  private readonly places = new Map<string, LeakPlace>();
  private readonly words = new WordList();
  private readonly h: SequenceHash = { a: 0, b: 0 };
  /** How values are read: SQL strings as the dump's standard_conforming_strings says, bytes as UTF-8 where they are. */
  private readonly literal: LiteralOptions = { standardStrings: true, encoding: 'utf8' };
  private line = 1;
  /** Text between statements not scanned yet, and the line it starts on. */
  private between: Buffer[] = [];
  private betweenLine = 1;
  private lookups = 0;
  private bytes = 0;
  /** The current COPY block: its table and a place per field. */
  private copyPlaces: LeakPlace[] = [];
  private copyTable = '';
  private copyColumns: readonly string[] = [];
  private copyWholeRows = false;

  /** `provideIndex` is called once, when the data begins, with the schema learnt so far. */
  constructor(provideIndex: (catalog: SchemaCatalog) => OriginalsIndex) {
    this.provideIndex = provideIndex;
  }

  write(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.router.write(chunk);
  }

  end(): void {
    this.router.end();
    this.flushBetween();
    this.ensureIndex();
  }

  report(): LeakReport {
    const places = [...this.places.values()].filter((p) => p.count > 0).sort((x, y) => x.firstLine - y.firstLine);
    const index = this.ensureIndex();
    const bound = index.complete.falsePositiveBound;
    return {
      places,
      finds: places.reduce((n, p) => n + p.count, 0),
      values: index.values,
      distinct: index.distinct,
      filterBytes: index.bytes,
      lookups: this.lookups,
      falsePositiveBound: bound,
      expectedFalseFinds: this.lookups * bound,
      bytesScanned: this.bytes,
    };
  }

  // ---- router events -------------------------------------------------------

  /**
   * Text between statements comes in pieces cut anywhere (even inside a character): it is
   * gathered and scanned a whole line at a time, and when a statement or a row comes.
   */
  text(buf: Buffer, start: number, end: number): void {
    if (end <= start) return;
    if (this.between.length === 0) this.betweenLine = this.line;
    this.line += countNewlines(buf, start, end);
    this.between.push(Buffer.from(buf.subarray(start, end)));
    const lastNl = buf.lastIndexOf(NL, end - 1);
    if (lastNl >= start) this.flushBetween(end - lastNl - 1);
  }

  /** Scans the gathered text between statements, except its last `keep` bytes (an unfinished line). */
  private flushBetween(keep = 0): void {
    if (this.between.length === 0) return;
    const all = Buffer.concat(this.between);
    const cut = all.length - keep;
    this.between = keep > 0 ? [all.subarray(cut)] : [];
    if (cut > 0) this.sqlText(textOf(all, 0, cut), this.place('between'), this.betweenLine);
    this.betweenLine += countNewlines(all, 0, cut);
  }

  /** A statement begins: the text between statements before it is scanned, and the line count moves past it. */
  private statementRead(s: RoutedStatement): void {
    this.flushBetween();
    this.line = s.at.line + countNewlines(s.text, 0, s.text.length);
  }

  /** A statement scanned as SQL text: its place is its kind of statement (CREATE SEQUENCE, ...), unless given. */
  private statement(s: RoutedStatement, place: LeakPlace = this.place('sql', statementKind(s.text))): void {
    this.sqlText(textOf(s.text, 0, s.text.length), place, s.at.line);
  }

  other(s: RoutedStatement): void {
    this.statementRead(s);
    this.statement(s);
  }

  ddl(s: RoutedStatement, learnt: LearntStatement): void {
    this.statementRead(s);
    this.statement(s);
    if (learnt.kind === 'standard_conforming_strings') this.literal.standardStrings = learnt.on;
  }

  statistics(s: RoutedStatement, call: StatsCall | UnreadableStatsCall): void {
    this.statementRead(s);
    this.statement(s, this.statisticsPlace(s.text, call));
  }

  insert(s: RoutedStatement, header: InsertHeader | undefined): undefined {
    this.statementRead(s);
    if (!header || !this.insertRows(s.text, s.at, header)) this.statement(s);
    return undefined;
  }

  copyStart(block: CopyBlock): CopyDataMode {
    if (block.statement) {
      this.statementRead(block.statement);
      this.statement(block.statement);
    }
    this.ensureIndex();
    const t = block.target;
    this.copyTable = t.key;
    this.copyColumns = this.router.columnsOf(t);
    this.copyPlaces = [];
    // CSV and other formats are not split into fields: a find is counted for the row.
    this.copyWholeRows = t.nonDefaultOptions.length > 0;
    return 'rows';
  }

  copyRow(buf: Buffer, start: number, end: number, _eolEnd: number, at: SourcePosition): void {
    this.flushBetween();
    this.line = at.line + 1;
    if (this.copyWholeRows) {
      this.scan(textOf(buf, start, end), this.dataPlace(this.copyTable, '(whole rows)'), at.line, false);
      return;
    }
    let s = start;
    for (let i = 0; s <= end; i++) {
      let e = buf.indexOf(TAB, s);
      if (e === -1 || e > end) e = end;
      if (!isCopyNull(buf, s, e) && e > s) {
        let value: string;
        try {
          value = decodeCopyField(buf, s, e) ?? '';
        } catch {
          value = buf.toString('latin1', s, e);
        }
        this.scan(value, this.copyPlace(i), at.line, false);
      }
      s = e + 1;
    }
  }

  copyEnd(): void {
    this.copyPlaces = [];
  }

  // ---- places and text -----------------------------------------------------

  private place(kind: 'sql' | 'between', statement?: string): LeakPlace {
    const key = `${kind}\0${statement ?? ''}`;
    let p = this.places.get(key);
    if (!p) {
      p = { kind, count: 0, firstLine: 0 };
      if (statement !== undefined) p.statement = statement;
      this.places.set(key, p);
    }
    return p;
  }

  private dataPlace(table: string, column: string): LeakPlace {
    const key = `data\0${table}\0${column}`;
    let p = this.places.get(key);
    if (!p) {
      p = { kind: 'data', table, column, count: 0, firstLine: 0 };
      this.places.set(key, p);
    }
    return p;
  }

  /** The place of a statistics statement that names its relation (and column), else undefined. */
  private statisticsPlace(text: Buffer, call: StatsCall | UnreadableStatsCall): LeakPlace | undefined {
    if (isUnreadable(call)) return undefined;
    const value = (name: string): string | undefined => {
      const pair = call.pairs.find((p) => p.name === name);
      const v = pair ? pairValue(text, pair, this.literal) : undefined;
      return typeof v === 'string' ? v : undefined;
    };
    const schema = value('schemaname');
    const relname = value('relname');
    if (schema === undefined || relname === undefined) return undefined;
    const table = qualifiedKey({ schema, name: relname });
    const attnum = value('attnum');
    const column = value('attname') ?? (attnum !== undefined ? `#${attnum}` : '');
    const key = `statistics\0${table}\0${column}`;
    let p = this.places.get(key);
    if (!p) {
      p = { kind: 'statistics', table, column, count: 0, firstLine: 0 };
      this.places.set(key, p);
    }
    return p;
  }

  private copyPlace(i: number): LeakPlace {
    let p = this.copyPlaces[i];
    if (!p) {
      p = this.dataPlace(this.copyTable, this.copyColumns[i] ?? `#${i + 1}`);
      this.copyPlaces[i] = p;
    }
    return p;
  }

  /** SQL text: scanned now, or held until the originals are known. */
  private sqlText(text: string, place: LeakPlace, line: number): void {
    if (this.index) {
      this.scan(text, place, line, true);
      return;
    }
    this.held.push({ text, place, line });
    this.heldChars += text.length;
    if (this.heldChars > HELD_LIMIT) this.ensureIndex();
  }

  private ensureIndex(): OriginalsIndex {
    if (this.index) return this.index;
    const index = this.provideIndex(this.router.catalog);
    this.index = index;
    const held = this.held;
    this.held = [];
    this.heldChars = 0;
    for (const h of held) this.scan(h.text, h.place, h.line, true);
    return index;
  }

  /** An INSERT whose rows can be read: each value scanned as its column's. False to scan it as plain SQL. */
  private insertRows(text: Buffer, at: SourcePosition, header: InsertHeader): boolean {
    this.ensureIndex();
    const table = qualifiedKey(header.target);
    const columns = header.columns ?? this.router.catalog.tables.get(table)?.columns.map((c) => c.name) ?? [];
    const rows = new InsertRowReader(text, header.valuesEnd, this.literal.standardStrings);
    const pending: { value: string; place: LeakPlace; line: number }[] = [];
    let line = at.line;
    let counted = 0;
    try {
      while (rows.next()) {
        line += countNewlines(text, counted, rows.rowStart);
        counted = rows.rowStart;
        for (let i = 0; i < rows.starts.length; i++) {
          const s = rows.starts[i]!;
          const e = rows.ends[i]!;
          let value: string | null;
          try {
            value = decodeSqlLiteral(text, s, e, this.literal);
          } catch {
            value = text.toString('utf8', s, e); // an expression: its text
          }
          if (value !== null && value !== '') pending.push({ value, place: this.dataPlace(table, columns[i] ?? `#${i + 1}`), line });
        }
      }
    } catch {
      return false; // not readable as rows after all
    }
    for (const p of pending) this.scan(p.value, p.place, p.line, false);
    return true;
  }

  /** Counts the finds in one text. `linesInside`: the text spans lines; locate the first find exactly. */
  private scan(text: string, place: LeakPlace, line: number, linesInside: boolean): void {
    const index = this.index!;
    const w = this.words.read(text);
    const h = this.h;
    for (let i = 0; i < w.count; i++) {
      startSequence(h, w, i);
      for (let k = 1; ; k++) {
        if (!index.starts.has(h.a, h.b)) break;
        this.lookups++;
        if (index.complete.has(h.a, h.b)) {
          if (place.count === 0) place.firstLine = linesInside ? line + countNewlinesIn(text, w.at[i]!) : line;
          place.count++;
          break;
        }
        if (k >= MAX_WORDS || i + k >= w.count) break;
        extendSequence(h, w, i + k);
      }
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Text as UTF-8, or byte for byte as Latin-1 where it is not valid UTF-8 (a single-byte encoding). */
function textOf(buf: Buffer, start: number, end: number): string {
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    return buf.toString('latin1', start, end);
  }
}

function countNewlines(buf: Buffer, start: number, end: number): number {
  let n = 0;
  for (let p = buf.indexOf(NL, start); p !== -1 && p < end; p = buf.indexOf(NL, p + 1)) n++;
  return n;
}

function countNewlinesIn(text: string, end: number): number {
  let n = 0;
  for (let p = text.indexOf('\n'); p !== -1 && p < end; p = text.indexOf('\n', p + 1)) n++;
  return n;
}

const STATEMENT_KIND =
  /^(CREATE(?:\s+OR\s+REPLACE)?(?:\s+(?:UNIQUE|UNLOGGED|TEMP|TEMPORARY|MATERIALIZED|TRUSTED|PROCEDURAL|DEFAULT|CONSTRAINT|RECURSIVE))*\s+[A-Z]+|ALTER\s+[A-Z]+|COMMENT\s+ON\s+[A-Z]+|SECURITY\s+LABEL|[A-Z]+)/i;

/** `CREATE SEQUENCE`, `COMMENT ON COLUMN`, `SELECT`: what kind of statement a find was in. */
function statementKind(text: Buffer): string {
  const head = text.toString('latin1', 0, Math.min(text.length, 120));
  const m = STATEMENT_KIND.exec(head);
  return m ? m[1]!.toUpperCase().replace(/\s+/g, ' ') : 'statement';
}

/** How a report names a place. */
export function placeName(p: LeakPlace): string {
  switch (p.kind) {
    case 'data':
      return `${p.table}.${quoteIdent(p.column ?? '')}`;
    case 'statistics':
      return p.column ? `statistics of ${p.table}.${p.column.startsWith('#') ? p.column : quoteIdent(p.column)}` : `statistics of ${p.table}`;
    case 'sql':
      return `SQL ${p.statement ?? 'statement'}`;
    case 'between':
      return 'comments and psql commands between statements';
  }
}
