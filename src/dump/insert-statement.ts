// INSERT statements as pg_dump writes them (--inserts, --column-inserts,
// --rows-per-insert) and as hand-written scripts do: `INSERT INTO name [(cols)]
// [OVERRIDING ... VALUE] VALUES (v, ...)[, (...)]...`. A hand-written tokenizer over the
// statement's bytes: PostgreSQL's parser is far too slow for row data.
// https://www.postgresql.org/docs/current/sql-insert.html

import { PgcloakError } from '../errors.js';
import type { QualifiedName } from '../schema/names.js';
import { BYTE } from '../io/byte-codes.js';

const { NL, COMMA, BACKSLASH } = BYTE;

const SQUOTE = 0x27;
const DQUOTE = 0x22;
const DOLLAR = 0x24;
const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const COLON = 0x3a;
const DASH = 0x2d;
const SLASH = 0x2f;
const STAR = 0x2a;

function isSpace(b: number): boolean {
  return b === 0x20 || b === 0x0a || b === 0x09 || b === 0x0d || b === 0x0c || b === 0x0b;
}

/** 1 for the bytes that make up words: identifiers, keywords, numbers (with sign, point and exponent). */
const WORD_BYTES = (() => {
  const table = new Uint8Array(256);
  for (let b = 0; b < 256; b++) {
    table[b] =
      (b >= 0x61 && b <= 0x7a) ||
      (b >= 0x41 && b <= 0x5a) ||
      (b >= 0x30 && b <= 0x39) ||
      b === 0x5f ||
      b === DOLLAR ||
      b === 0x2e || // .
      b === 0x2b || // +
      b === DASH ||
      b >= 0x80
        ? 1
        : 0;
  }
  return table;
})();

function isWordByte(b: number): boolean {
  return WORD_BYTES[b] === 1;
}

function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

export interface InsertHeader {
  target: QualifiedName;
  /** Column names as listed; undefined when the statement lists none. */
  columns: string[] | undefined;
  /** Offset just after the VALUES keyword. */
  valuesEnd: number;
  /** The bytes before the rows (`INSERT INTO x (a, b) VALUES`), for caching plans. */
  key: string;
}

/**
 * A small cursor over a statement's bytes that skips white space and comments and
 * reads one token at a time.
 */
export class Cursor {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    readonly end: number,
    readonly standardStrings: boolean,
    readonly decodeName: (bytes: Buffer) => string = (b) => b.toString('utf8'),
  ) {
    this.pos = start;
  }

  skipSpace(): void {
    const { buf, end } = this;
    while (this.pos < end) {
      const b = buf[this.pos]!;
      if (isSpace(b)) this.pos++;
      else if (b === DASH && buf[this.pos + 1] === DASH) {
        const nl = buf.indexOf(NL, this.pos);
        this.pos = nl === -1 || nl >= end ? end : nl + 1;
      } else if (b === SLASH && buf[this.pos + 1] === STAR) {
        let depth = 1;
        this.pos += 2;
        while (this.pos < end && depth > 0) {
          if (buf[this.pos] === SLASH && buf[this.pos + 1] === STAR) {
            depth++;
            this.pos += 2;
          } else if (buf[this.pos] === STAR && buf[this.pos + 1] === SLASH) {
            depth--;
            this.pos += 2;
          } else this.pos++;
        }
      } else break;
    }
  }

  /** Reads one token from `pos` (after skipSpace); returns its end. */
  token(): number {
    const { buf, end } = this;
    const b = buf[this.pos]!;
    if (b === SQUOTE) return (this.pos = this.quoted(this.pos, !this.standardStrings));
    if (b === DQUOTE) return (this.pos = this.doubleQuoted(this.pos));
    if (b === DOLLAR && this.pos + 1 < end) {
      const close = this.dollarTagEnd(this.pos);
      if (close !== -1) return (this.pos = this.dollarQuoted(this.pos, close));
    }
    if (isWordByte(b)) {
      let p = this.pos;
      // E'..', N'..', B'..', X'..', U&'..': a prefix letter glued to a string.
      const l = lower(b);
      if ((l === 0x65 || l === 0x6e || l === 0x62 || l === 0x78) && buf[p + 1] === SQUOTE) {
        return (this.pos = this.quoted(p + 1, l === 0x65 || !this.standardStrings));
      }
      if (l === 0x75 && buf[p + 1] === 0x26 && buf[p + 2] === SQUOTE) return (this.pos = this.quoted(p + 2, false));
      while (p < end && isWordByte(buf[p]!) && !(buf[p] === DASH && buf[p + 1] === DASH)) p++;
      return (this.pos = p);
    }
    return ++this.pos; // punctuation: one byte
  }

  private quoted(open: number, escapes: boolean): number {
    const { buf, end } = this;
    let p = open + 1;
    if (!escapes) {
      // Only quotes matter: jump from one to the next (a doubled one continues the string).
      for (;;) {
        const q = buf.indexOf(SQUOTE, p);
        if (q === -1 || q >= end) throw new PgcloakError('SQL_UNTERMINATED', 'unterminated string literal in an INSERT statement');
        if (buf[q + 1] !== SQUOTE || q + 1 >= end) return q + 1;
        p = q + 2;
      }
    }
    for (;;) {
      if (p >= end) throw new PgcloakError('SQL_UNTERMINATED', 'unterminated string literal in an INSERT statement');
      const c = buf[p]!;
      if (escapes && c === BACKSLASH) p += 2;
      else if (c === SQUOTE) {
        if (buf[p + 1] === SQUOTE) p += 2;
        else return p + 1;
      } else p++;
    }
  }

  private doubleQuoted(open: number): number {
    const { buf, end } = this;
    let p = open + 1;
    for (;;) {
      if (p >= end) throw new PgcloakError('SQL_UNTERMINATED', 'unterminated quoted identifier in an INSERT statement');
      if (buf[p] === DQUOTE) {
        if (buf[p + 1] === DQUOTE) p += 2;
        else return p + 1;
      } else p++;
    }
  }

  /** For `$tag$`, the offset of the closing `$` of the opening tag, or -1 when not a dollar quote. */
  private dollarTagEnd(open: number): number {
    const { buf, end } = this;
    let p = open + 1;
    if (p < end && buf[p]! >= 0x30 && buf[p]! <= 0x39) return -1; // $1
    while (p < end && buf[p] !== DOLLAR) {
      if (!isWordByte(buf[p]!) || buf[p] === 0x2e || buf[p] === 0x2b || buf[p] === DASH) return -1;
      p++;
    }
    return p < end ? p : -1;
  }

  private dollarQuoted(open: number, tagClose: number): number {
    const { buf, end } = this;
    const tag = buf.subarray(open, tagClose + 1);
    const close = buf.indexOf(tag, tagClose + 1);
    if (close === -1 || close + tag.length > end) throw new PgcloakError('SQL_UNTERMINATED', 'unterminated dollar-quoted string in an INSERT statement');
    return close + tag.length;
  }

  /** Reads a possibly quoted identifier; unquoted ones fold to lower case as in SQL. */
  identifier(): string | undefined {
    this.skipSpace();
    if (this.pos >= this.end) return undefined;
    const start = this.pos;
    const b = this.buf[start]!;
    if (b === DQUOTE) {
      const e = this.token();
      return this.decodeName(this.buf.subarray(start + 1, e - 1)).replaceAll('""', '"');
    }
    if (!isWordByte(b) || b === DASH || b === 0x2b) return undefined;
    let p = start;
    while (p < this.end && isWordByte(this.buf[p]!) && this.buf[p] !== 0x2e && this.buf[p] !== DASH && this.buf[p] !== 0x2b) p++;
    this.pos = p;
    return this.decodeName(this.buf.subarray(start, p)).toLowerCase();
  }

  keyword(word: string): boolean {
    this.skipSpace();
    const { buf } = this;
    for (let i = 0; i < word.length; i++) if (lower(buf[this.pos + i] ?? 0) !== word.charCodeAt(i)) return false;
    const after = buf[this.pos + word.length];
    if (after !== undefined && isWordByte(after) && after !== 0x2e) return false;
    this.pos += word.length;
    return true;
  }

  punct(b: number): boolean {
    this.skipSpace();
    if (this.buf[this.pos] !== b) return false;
    this.pos++;
    return true;
  }
}

/** Reads `INSERT INTO name [(cols)] [OVERRIDING x VALUE] VALUES`; undefined for any other shape. */
export function parseInsertHeader(
  text: Buffer,
  defaultSchema: string,
  standardStrings: boolean,
  decodeName?: (bytes: Buffer) => string,
): InsertHeader | undefined {
  const c = new Cursor(text, 0, text.length, standardStrings, decodeName);
  if (!c.keyword('insert') || !c.keyword('into')) return undefined;
  const parts: string[] = [];
  for (;;) {
    const id = c.identifier();
    if (id === undefined) return undefined;
    parts.push(id);
    if (!c.punct(0x2e)) break;
  }
  if (parts.length > 2) return undefined;
  const target = parts.length === 2 ? { schema: parts[0]!, name: parts[1]! } : { schema: defaultSchema, name: parts[0]! };
  let columns: string[] | undefined;
  if (c.punct(LPAREN)) {
    columns = [];
    for (;;) {
      const id = c.identifier();
      if (id === undefined) return undefined;
      columns.push(id);
      if (c.punct(RPAREN)) break;
      if (!c.punct(COMMA)) return undefined;
    }
  }
  if (c.keyword('overriding')) {
    if (!(c.keyword('system') || c.keyword('user')) || !c.keyword('value')) return undefined;
  }
  if (!c.keyword('values')) return undefined;
  return { target, columns, valuesEnd: c.pos, key: text.toString('latin1', 0, c.pos) };
}

/**
 * Reads the rows of an INSERT after VALUES, one at a time. For each value, the field
 * range is the literal itself when the value is a literal optionally followed by
 * `::type` casts (the casts stay outside the field, untouched), else the whole expression.
 */
export class InsertRowReader {
  private readonly c: Cursor;
  readonly starts: number[] = [];
  readonly ends: number[] = [];
  /** The current row: from its `(` to just after its `)`. */
  rowStart = 0;
  rowEnd = 0;
  private first = true;

  constructor(text: Buffer, from: number, standardStrings: boolean) {
    this.c = new Cursor(text, from, text.length, standardStrings);
  }

  /** Offset where reading stopped: after the last row. */
  get position(): number {
    return this.c.pos;
  }

  /** After the last row: only `;`, ON CONFLICT … or RETURNING … may follow. */
  checkTail(): void {
    const c = this.c;
    const save = c.pos;
    c.skipSpace();
    if (c.buf[c.pos] === 0x3b || c.keyword('on') || c.keyword('returning')) {
      c.pos = save;
      return;
    }
    throw new PgcloakError('COPY_VALUE', 'unexpected text after the rows of VALUES (unbalanced parentheses?)');
  }

  next(): boolean {
    const c = this.c;
    const save = c.pos;
    if (!this.first && !c.punct(COMMA)) {
      c.pos = save;
      return false;
    }
    c.skipSpace();
    if (c.buf[c.pos] !== LPAREN) {
      if (this.first) throw new PgcloakError('COPY_VALUE', 'expected ( after VALUES');
      throw new PgcloakError('COPY_VALUE', 'expected ( to start the next row of VALUES');
    }
    this.first = false;
    this.rowStart = c.pos;
    c.pos++;
    this.starts.length = 0;
    this.ends.length = 0;
    for (;;) {
      c.skipSpace();
      const valueStart = c.pos;
      let valueEnd = valueStart;
      let firstEnd = -1;
      let castAfterFirst = false;
      let depth = 0;
      let tokens = 0;
      for (;;) {
        c.skipSpace();
        if (c.pos >= c.end) throw new PgcloakError('COPY_VALUE', 'row of VALUES not closed by )');
        const b = c.buf[c.pos]!;
        if (depth === 0 && (b === COMMA || b === RPAREN)) break;
        const tokenEnd = c.token();
        if (b === LPAREN || b === LBRACKET) depth++;
        else if (b === RPAREN || b === RBRACKET) depth--;
        tokens++;
        if (tokens === 1) firstEnd = tokenEnd;
        else if (tokens === 2) castAfterFirst = b === COLON && c.buf[tokenEnd] === COLON;
        valueEnd = tokenEnd;
      }
      if (tokens === 0) throw new PgcloakError('COPY_VALUE', 'empty value in a row of VALUES');
      this.starts.push(valueStart);
      this.ends.push(tokens === 1 || castAfterFirst ? firstEnd : valueEnd);
      const b = c.buf[c.pos]!;
      c.pos++;
      if (b === RPAREN) break;
    }
    this.rowEnd = c.pos;
    return true;
  }
}
