// What the leak scan looks for: the original values masking replaced, as the vault keeps
// them, put into two scalable Bloom filters by their words (see words.ts):
//   complete  the word sequence of each value (its first MAX_WORDS words when longer);
//             a lookup errs with probability < 2^-30
//   starts    every prefix of those sequences, to stop extending a candidate early;
//             its errors only cost time
// Values shorter than MIN_VALUE_CHARS characters, values without a letter and with fewer
// than MIN_DIGITS_WITHOUT_LETTERS digits, and values of columns whose values are
// numbers, dates, times, booleans, bytes or enum labels, are not looked for: they repeat
// everywhere by nature (an amount, a date, an enum label that the DDL itself spells out).
// A json value contributes each of its string values and those of its keys that do not look
// like field names (a phone number, an e-mail, a name with a space: see dataLikeKey); an
// array each element. The statistics of a masked column (kept whole in the vault, see
// src/engine/statistics.ts) contribute the values they list: most common values, histogram
// bounds, most common elements, range bounds.

import { mapArrayLiteral } from '../copy/array-literal.js';
import { decodeCopyField } from '../copy/text-field.js';
import { decodeSqlLiteral } from '../dump/sql-literal.js';
import { isUnreadable, pairValue, parseStatsCall } from '../dump/stats-statement.js';
import type { SchemaCatalog } from '../schema/catalog.js';
import { qualifiedKey } from '../schema/names.js';
import type { ResolvedType } from '../schema/types.js';
import type { VaultRecord } from '../vault/reader.js';
import { ScalableBloom } from './bloom.js';
import { WordList, extendSequence, startSequence, type SequenceHash } from './words.js';

export const MIN_VALUE_CHARS = 4;
/**
 * A value without letters (a postal code, a house number, a short code) is looked for only
 * with at least this many digits (a phone number, an account number): shorter numbers are
 * everywhere in a dump (ids, amounts, years) and would be found by chance.
 */
export const MIN_DIGITS_WITHOUT_LETTERS = 7;
export const MAX_WORDS = 16;
/** log2 of 1/p0 for the filter of whole values: lookups err with probability < 2·2^-31. */
export const COMPLETE_ERROR_BITS = 31;
const STARTS_ERROR_BITS = 6;
const INITIAL_CAPACITY = 1 << 16;

export class OriginalsIndex {
  readonly starts = new ScalableBloom({ initialCapacity: INITIAL_CAPACITY, errorBits: STARTS_ERROR_BITS });
  readonly complete = new ScalableBloom({ initialCapacity: INITIAL_CAPACITY, errorBits: COMPLETE_ERROR_BITS });
  /** Values added, counting repeats. */
  values = 0;
  private readonly words = new WordList();
  private readonly h: SequenceHash = { a: 0, b: 0 };

  /** Adds one original value; false when it is too short to be looked for. */
  add(value: string): boolean {
    if (!longEnough(value)) return false;
    if (!LETTER.test(value) && countDigits(value) < MIN_DIGITS_WITHOUT_LETTERS) return false;
    const w = this.words.read(value);
    if (w.count === 0) return false;
    const n = Math.min(w.count, MAX_WORDS);
    const h = this.h;
    startSequence(h, w, 0);
    this.starts.add(h.a, h.b);
    for (let i = 1; i < n; i++) {
      extendSequence(h, w, i);
      this.starts.add(h.a, h.b);
    }
    this.complete.add(h.a, h.b);
    this.values++;
    return true;
  }

  /** Distinct word sequences held. */
  get distinct(): number {
    return this.complete.size;
  }

  get bytes(): number {
    return this.starts.bytes + this.complete.bytes;
  }
}

const LETTER = /\p{L}/u;

function countDigits(value: string): number {
  let n = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c >= 0x30 && c <= 0x39) n++;
  }
  return n;
}

function longEnough(value: string): boolean {
  const t = value.trim();
  if (t.length < MIN_VALUE_CHARS) return false;
  if (t.length >= 2 * MIN_VALUE_CHARS) return true;
  let n = 0;
  for (const _ of t) n++; // code points, not UTF-16 units
  return n >= MIN_VALUE_CHARS;
}

/** Turns one decoded value of a column into the values to look for. */
export type Collector = (value: string, add: (v: string) => void) => void;

const whole: Collector = (value, add) => add(value);

function jsonStrings(value: string, add: (v: string) => void): void {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    add(value);
    return;
  }
  const stack: unknown[] = [parsed];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') add(v);
    else if (Array.isArray(v)) stack.push(...v);
    else if (v !== null && typeof v === 'object') {
      for (const [key, value] of Object.entries(v)) {
        if (dataLikeKey(key)) add(key);
        stack.push(value);
      }
    }
  }
}

/**
 * A json key that holds data rather than naming a field. Keys are structure far more often
 * than data (`en_US`, `street2`, `firstName`, `content-type`, `mail.catchall`), and masking
 * keeps every key, so looking for all of them would find a masked column's own keys in every
 * row of it. A key is looked for when it does not start with a letter or `_` (a phone number,
 * an id) or holds anything but letters, digits, `_`, `-`, `.` and `:` (a space, `@`, `+`, `/`).
 */
const FIELD_NAME = /^[\p{L}_][\p{L}\p{N}_.:-]*$/u;

export function dataLikeKey(key: string): boolean {
  return !FIELD_NAME.test(key);
}

/** How a column's values are looked for, or undefined when they are not (numbers, dates, ...). */
export function collectorFor(type: ResolvedType): Collector | undefined {
  switch (type.kind) {
    case 'text':
    case 'uuid':
    case 'inet':
    case 'cidr':
    case 'macaddr':
    case 'macaddr8':
    case 'unsupported': // tsvector, composite and extension types: their text, as it is
      return whole;
    case 'json':
    case 'jsonb':
      return jsonStrings;
    case 'array': {
      const element = type.element ? collectorFor(type.element) : whole;
      if (!element) return undefined;
      return (value, add) => {
        try {
          mapArrayLiteral(value, (e) => {
            element(e, add);
            return e;
          });
        } catch {
          add(value);
        }
      };
    }
    default:
      return undefined;
  }
}

/** The type of a masked column: from the dump's DDL when it declares the table, else from the vault's display form. */
export function maskedColumnType(catalog: SchemaCatalog, table: string, column: string, display: string): ResolvedType {
  const declared = catalog.tables.get(table)?.columns.find((c) => c.name === column);
  if (declared) return catalog.resolveType(declared.type);
  const arrayDims = (display.match(/\[\]/g) ?? []).length;
  const names = display.replace(/\[\]/g, '').replace(/\(.*\)$/, '').split('.');
  return catalog.resolveType({ names, typmods: [], arrayDims });
}

interface DeclShape {
  keyCount: number;
  encoding: 'copy-text' | 'sql-literal';
  collectors: (Collector | undefined)[];
}

/** A field as the vault sink sees it: `buf[start..end)`, valid during the call only. */
export interface FieldBytes {
  buf: Uint8Array;
  start: number;
  end: number;
}

const LITERAL_OPTIONS = { standardStrings: true, encoding: 'utf8' as const };

function decodeOriginal(f: FieldBytes, encoding: DeclShape['encoding']): string | null {
  try {
    if (encoding === 'copy-text') return decodeCopyField(f.buf, f.start, f.end);
    return decodeSqlLiteral(Buffer.from(f.buf.buffer, f.buf.byteOffset, f.buf.byteLength), f.start, f.end, LITERAL_OPTIONS);
  } catch {
    // Not decodable (an expression in an INSERT, invalid UTF-8): look for its bytes as they are.
    return Buffer.from(f.buf.buffer, f.buf.byteOffset + f.start, f.end - f.start).toString('latin1');
  }
}

function stringArray(v: unknown): string[] {
  return Array.isArray(v) ? v.map((x) => String(x)) : [];
}

/**
 * Takes the vault's records, as the masker writes them or as a vault file gives them back,
 * and adds each masked original to the index. Has the shape of the masker's vault sink.
 */
export class OriginalsCollector {
  private readonly index: OriginalsIndex;
  private readonly typeOf: (table: string, column: string, display: string) => ResolvedType;
  private readonly shapes = new Map<number, DeclShape>();
  /** Masked columns and their types' display forms, by table and by the table whose rule it follows. */
  private readonly maskedByTable = new Map<string, Map<string, string>>();
  private readonly add: (v: string) => void;

  constructor(index: OriginalsIndex, typeOf: (table: string, column: string, display: string) => ResolvedType) {
    this.index = index;
    this.typeOf = typeOf;
    this.add = (v) => {
      index.add(v);
    };
  }

  declareTable(decl: Record<string, unknown> & { index: number }): void {
    const table = String(decl['table'] ?? '');
    const masked = stringArray(decl['maskedColumns']);
    const types = stringArray(decl['types']);
    for (const t of new Set([table, String(decl['ruleTable'] ?? table)])) {
      const columns = this.maskedByTable.get(t) ?? new Map<string, string>();
      masked.forEach((column, j) => columns.set(column, types[j] ?? 'text'));
      this.maskedByTable.set(t, columns);
    }
    this.shapes.set(decl.index, {
      keyCount: stringArray(decl['keyColumns']).length,
      encoding: decl['encoding'] === 'sql-literal' ? 'sql-literal' : 'copy-text',
      collectors: masked.map((column, j) => collectorFor(this.typeOf(table, column, types[j] ?? 'text'))),
    });
  }

  row(tableIndex: number, _ordinal: number, fields: ReadonlyArray<FieldBytes>): void {
    const shape = this.shapes.get(tableIndex);
    if (!shape) return;
    for (let j = 0; j < shape.collectors.length; j++) {
      const collect = shape.collectors[j];
      const field = fields[shape.keyCount + j];
      if (!collect || !field) continue;
      const value = decodeOriginal(field, shape.encoding);
      if (value !== null) collect(value, this.add);
    }
  }

  /**
   * The statistics of a masked column, as they were: the values they list. Only those of a
   * table's masked column: an index's or a view's are computed from values (a domain part, a
   * lower-case form), not originals themselves.
   */
  statement(text: Uint8Array): void {
    const bytes = Buffer.from(text.buffer, text.byteOffset, text.byteLength);
    const call = parseStatsCall(bytes, LITERAL_OPTIONS);
    if (call === undefined || isUnreadable(call)) return;
    const value = (name: string): string | null | undefined => {
      const pair = call.pairs.find((p) => p.name === name);
      return pair ? pairValue(bytes, pair, LITERAL_OPTIONS) : undefined;
    };
    const schema = value('schemaname');
    const relname = value('relname');
    const column = value('attname');
    if (typeof schema !== 'string' || typeof relname !== 'string' || typeof column !== 'string') return;
    const table = qualifiedKey({ schema, name: relname });
    const display = this.maskedByTable.get(table)?.get(column);
    if (display === undefined) return;
    const type = this.typeOf(table, column, display);
    // Values of a number, date, ... column are not looked for, in statistics as in rows.
    const whole = collectorFor(type);
    const elements = type.kind === 'array' && type.element ? collectorFor(type.element) : whole;
    for (const [name, collect] of [
      ['most_common_vals', whole],
      ['histogram_bounds', whole],
      ['most_common_elems', elements],
      ['range_bounds_histogram', whole],
    ] as const) {
      const list = value(name);
      if (typeof list !== 'string' || !collect) continue;
      try {
        mapArrayLiteral(list, (e) => {
          collect(e, this.add);
          return e;
        });
      } catch {
        this.add(list);
      }
    }
  }
}


/** Reads every record of a vault into `index`. */
export function indexOriginals(source: { next(): VaultRecord | null }, catalog: SchemaCatalog, index: OriginalsIndex): void {
  const collector = new OriginalsCollector(index, (table, column, display) => maskedColumnType(catalog, table, column, display));
  for (let record = source.next(); record !== null; record = source.next()) {
    if (record.type === 'table') collector.declareTable(record.decl);
    else if (record.type === 'row') collector.row(record.tableIndex, record.ordinal, record.fields.map((buf) => ({ buf, start: 0, end: buf.length })));
    else collector.statement(record.text);
  }
}
