// SQL literals as they appear in INSERT statements: decoded to their text value for
// keys and value-dependent placeholders, and placeholders written back as literals.
// https://www.postgresql.org/docs/current/sql-syntax-lexical.html#SQL-SYNTAX-CONSTANTS

import { PgcloakError } from '../errors.js';
import { BYTE } from '../io/byte-codes.js';

const { BACKSLASH } = BYTE;

const SQUOTE = 0x27;
const DOLLAR = 0x24;

const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export interface LiteralOptions {
  /** standard_conforming_strings: when off, backslashes in '...' are escapes too. */
  standardStrings: boolean;
  /** How bytes become characters: 'utf8', or 'latin1' for any single-byte encoding. */
  encoding: 'utf8' | 'latin1';
}

function lower(b: number): number {
  return b >= 0x41 && b <= 0x5a ? b + 0x20 : b;
}

function isWord(buf: Uint8Array, s: number, e: number, word: string): boolean {
  if (e - s !== word.length) return false;
  for (let i = 0; i < word.length; i++) if (lower(buf[s + i]!) !== word.charCodeAt(i)) return false;
  return true;
}

export function isSqlNull(buf: Uint8Array, start: number, end: number): boolean {
  return isWord(buf, start, end, 'null');
}

function notLiteral(): PgcloakError {
  return new PgcloakError('COPY_VALUE', 'not a literal: an expression cannot be decoded for masking (use a constant, null or keep strategy)');
}

/**
 * The value a literal denotes, as text: 'it''s' → it's, E'a\nb' → a⏎b, 42 → 42,
 * true → true, NULL → null, $$x$$ → x. Anything else (an expression) throws COPY_VALUE.
 */
export function decodeSqlLiteral(buf: Buffer, start: number, end: number, options: LiteralOptions): string | null {
  if (end <= start) throw notLiteral();
  const first = buf[start]!;
  if (isSqlNull(buf, start, end)) return null;
  if (isWord(buf, start, end, 'true')) return 'true';
  if (isWord(buf, start, end, 'false')) return 'false';
  if (first === DOLLAR) return decodeDollar(buf, start, end, options.encoding);
  let q = start;
  let escapes = !options.standardStrings;
  const l = lower(first);
  if (l === 0x65 && buf[start + 1] === SQUOTE) {
    escapes = true; // E'...'
    q = start + 1;
  } else if (l === 0x6e && buf[start + 1] === SQUOTE) {
    q = start + 1; // N'...' (national character): an ordinary string
  } else if ((l === 0x62 || l === 0x78) && buf[start + 1] === SQUOTE) {
    q = start + 1; // B'0101' / X'1F': bit strings, kept as their digits
    escapes = false;
  }
  if (buf[q] !== SQUOTE) {
    const text = buf.toString('latin1', start, end);
    if (NUMBER.test(text)) return text;
    throw notLiteral();
  }
  if (buf[end - 1] !== SQUOTE || end - q < 2) throw notLiteral();
  return escapes ? decodeEscaped(buf, q + 1, end - 1, options.encoding) : decodeStandard(buf, q + 1, end - 1, options.encoding);
}

/** '...' with standard strings: only '' stands for '. */
function decodeStandard(buf: Buffer, s: number, e: number, encoding: 'utf8' | 'latin1'): string {
  const text = buf.toString(encoding, s, e);
  return text.includes("''") ? text.replaceAll("''", "'") : text;
}

/** E'...': backslash escapes, decoded to bytes first (octal and hex escapes are bytes). */
function decodeEscaped(buf: Buffer, s: number, e: number, encoding: 'utf8' | 'latin1'): string {
  const out: number[] = [];
  const pushChar = (cp: number): void => {
    for (const b of Buffer.from(String.fromCodePoint(cp), encoding === 'latin1' ? 'latin1' : 'utf8')) out.push(b);
  };
  for (let i = s; i < e; i++) {
    const b = buf[i]!;
    if (b === SQUOTE) {
      out.push(SQUOTE);
      i++; // '' inside E'...' is a quote too
      continue;
    }
    if (b !== BACKSLASH || i + 1 >= e) {
      out.push(b);
      continue;
    }
    const c = buf[++i]!;
    switch (c) {
      case 0x62: out.push(0x08); break; // \b
      case 0x66: out.push(0x0c); break; // \f
      case 0x6e: out.push(0x0a); break; // \n
      case 0x72: out.push(0x0d); break; // \r
      case 0x74: out.push(0x09); break; // \t
      case 0x78: { // \xHH
        let v = 0;
        let n = 0;
        while (n < 2 && i + 1 < e && /[0-9a-fA-F]/.test(String.fromCharCode(buf[i + 1]!))) {
          v = v * 16 + parseInt(String.fromCharCode(buf[++i]!), 16);
          n++;
        }
        if (n === 0) out.push(0x78);
        else out.push(v);
        break;
      }
      case 0x75: // \uXXXX
      case 0x55: { // \UXXXXXXXX
        const digits = c === 0x75 ? 4 : 8;
        const hex = buf.toString('latin1', i + 1, i + 1 + digits);
        if (hex.length !== digits || !/^[0-9a-fA-F]+$/.test(hex)) throw new PgcloakError('COPY_VALUE', 'invalid Unicode escape in an E\'\' string');
        pushChar(parseInt(hex, 16));
        i += digits;
        break;
      }
      default:
        if (c >= 0x30 && c <= 0x37) { // \ooo
          let v = c - 0x30;
          let n = 1;
          while (n < 3 && i + 1 < e && buf[i + 1]! >= 0x30 && buf[i + 1]! <= 0x37) {
            v = v * 8 + (buf[++i]! - 0x30);
            n++;
          }
          out.push(v & 0xff);
        } else {
          out.push(c);
        }
    }
  }
  const bytes = Buffer.from(out);
  if (encoding !== 'latin1') {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      throw new PgcloakError('COPY_VALUE', 'invalid UTF-8 in an E\'\' string');
    }
  }
  return bytes.toString('latin1');
}

function decodeDollar(buf: Buffer, start: number, end: number, encoding: 'utf8' | 'latin1'): string {
  const close = buf.indexOf(DOLLAR, start + 1);
  if (close === -1 || close >= end) throw notLiteral();
  const tagLength = close - start + 1;
  if (end - start < 2 * tagLength || buf.compare(buf, start, start + tagLength, end - tagLength, end) !== 0) throw notLiteral();
  return buf.toString(encoding, start + tagLength, end - tagLength);
}

/** A placeholder as a literal: NULL, or a quoted string PostgreSQL casts to the column's type. */
export function encodeSqlLiteral(value: string | null, options: LiteralOptions): Buffer {
  if (value === null) return Buffer.from('NULL');
  let body = value.includes("'") ? value.replaceAll("'", "''") : value;
  if (!options.standardStrings && body.includes('\\')) body = body.replaceAll('\\', '\\\\');
  return Buffer.from(`'${body}'`, options.encoding);
}
