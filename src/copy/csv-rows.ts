// COPY CSV data (the output of `COPY t TO STDOUT (FORMAT csv)`): rows split at line
// ends outside quotes, fields at the delimiter outside quotes, with their byte ranges
// (quotes included) so the masker can replace a field and copy everything else.
// https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-CSV-FORMAT

import { PgcloakError, type SourcePosition } from '../errors.js';
import type { TextEncoding } from './text-field.js';
import { BYTE } from '../io/byte-codes.js';

const { NL, CR } = BYTE;

export interface CsvOptions {
  /** One byte, `,` by default. */
  delimiter: number;
  /** One byte, `"` by default; a quote inside quotes is doubled. */
  quote: number;
}

export interface CsvRowHandler {
  /** One row: bytes `start..end`, line end `end..eolEnd`, field ranges (quotes included). */
  row(buf: Buffer, start: number, end: number, eolEnd: number, starts: readonly number[], ends: readonly number[], at: SourcePosition): void;
}

export class CsvRowReader {
  private readonly handler: CsvRowHandler;
  private readonly delimiter: number;
  private readonly quote: number;
  private carry: Buffer | undefined;
  private offset = 0;
  private line = 1;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  rows = 0;

  constructor(handler: CsvRowHandler, options: CsvOptions) {
    this.handler = handler;
    this.delimiter = options.delimiter;
    this.quote = options.quote;
  }

  write(chunk: Buffer): void {
    const buf = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const consumed = this.scan(buf, false);
    if (consumed < buf.length) this.carry = buf.subarray(consumed);
    this.offset += consumed;
  }

  end(): void {
    if (!this.carry) return;
    const buf = this.carry;
    this.carry = undefined;
    this.scan(buf, true);
  }

  /** Reads whole rows; returns how many bytes they took. */
  private scan(buf: Buffer, atEnd: boolean): number {
    const len = buf.length;
    let rowStart = 0;
    while (rowStart < len) {
      const starts = this.starts;
      const ends = this.ends;
      starts.length = 0;
      ends.length = 0;
      let p = rowStart;
      let fieldStart = p;
      let inQuotes = false;
      let newlines = 0;
      let rowEnd = -1;
      let eolEnd = -1;
      while (p < len) {
        const b = buf[p]!;
        if (inQuotes) {
          if (b === this.quote) {
            if (p + 1 >= len && !atEnd) break; // a doubled quote may continue in the next chunk
            if (buf[p + 1] === this.quote) p += 2;
            else {
              inQuotes = false;
              p++;
            }
          } else {
            if (b === NL) newlines++;
            p++;
          }
        } else if (b === this.quote) {
          inQuotes = true;
          p++;
        } else if (b === this.delimiter) {
          starts.push(fieldStart);
          ends.push(p);
          fieldStart = ++p;
        } else if (b === NL) {
          rowEnd = p > rowStart && buf[p - 1] === CR ? p - 1 : p;
          eolEnd = p + 1;
          break;
        } else p++;
      }
      if (rowEnd === -1) {
        if (!atEnd) return rowStart; // the row continues in the next chunk
        if (inQuotes) {
          throw new PgcloakError('COPY_UNTERMINATED', 'input ends inside a quoted CSV field', { line: this.line, offset: this.offset + rowStart });
        }
        rowEnd = len;
        eolEnd = len;
      }
      starts.push(fieldStart);
      ends.push(Math.min(p, rowEnd));
      this.rows++;
      this.handler.row(buf, rowStart, rowEnd, eolEnd, starts, ends, { line: this.line, offset: this.offset + rowStart });
      this.line += newlines + 1;
      rowStart = eolEnd;
    }
    return rowStart;
  }
}

/** The value of a CSV field: unquoted empty is NULL (PostgreSQL's default), quotes undone. */
export function decodeCsvField(buf: Buffer, start: number, end: number, quote: number, encoding: TextEncoding): string | null {
  if (start === end) return null;
  if (buf[start] !== quote) return buf.toString(encoding, start, end);
  if (end - start < 2 || buf[end - 1] !== quote) {
    // Quoted and unquoted parts mixed ("a"b): PostgreSQL takes them together.
    return buf.toString(encoding, start, end).replaceAll(String.fromCharCode(quote), '');
  }
  const q = String.fromCharCode(quote);
  return buf.toString(encoding, start + 1, end - 1).replaceAll(q + q, q);
}

/** A CSV field for a value, quoted only where needed (empty strings are quoted: unquoted empty is NULL). */
export function encodeCsvField(value: string | null, delimiter: number, quote: number, encoding: TextEncoding): Buffer {
  if (value === null) return Buffer.alloc(0);
  const d = String.fromCharCode(delimiter);
  const q = String.fromCharCode(quote);
  const needsQuotes = value === '' || value === '\\.' || value.includes(d) || value.includes(q) || value.includes('\n') || value.includes('\r');
  return Buffer.from(needsQuotes ? `${q}${value.replaceAll(q, q + q)}${q}` : value, encoding);
}
