// One field of COPY text format, decoded to a string and encoded back.
// https://www.postgresql.org/docs/current/sql-copy.html ("Text Format");
// decoding follows CopyReadAttributesText, encoding CopyAttributeOutText.
// The caller has already split the row: a range holds one field without its delimiter.

import { PgcloakError } from '../errors.js';
import { BYTE } from '../io/byte-codes.js';

const { BACKSLASH } = BYTE;

const UPPER_N = 0x4e; // 'N', as in the NULL marker \N
const LOWER_X = 0x78; // 'x', as in \x41

const ESCAPED_CONTROL: Record<number, number> = {
  0x62: 0x08, // \b backspace
  0x66: 0x0c, // \f form feed
  0x6e: 0x0a, // \n newline
  0x72: 0x0d, // \r carriage return
  0x74: 0x09, // \t tab
  0x76: 0x0b, // \v vertical tab
};

// The characters COPY TO escapes are backslash and \b \t \n \v \f \r (0x08..0x0D);
// other control characters go out raw. ESCAPE_LETTERS[c - 0x08] is the letter for c.
const ESCAPE_LETTERS = 'btnvfr';
const NEEDS_ESCAPE = /[\\\x08-\x0d]/;

const NULL_MARKER = Buffer.from('\\N', 'latin1');

/**
 * How field bytes become characters: UTF-8 (validated), or 'latin1' — byte for byte,
 * used for every single-byte server encoding so that bytes survive exactly.
 */
export type TextEncoding = 'utf8' | 'latin1';

// fatal: an invalid byte sequence is an error, not U+FFFD; two different originals
// must never decode to the same string. ignoreBOM: a leading U+FEFF is data.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// Reused across calls for de-escaped bytes; the output is never longer than the input.
// Fields larger than this get a buffer of their own so one huge value is not kept alive.
const SCRATCH_LIMIT = 1 << 20;
/** Fields up to this many bytes are tried as plain ASCII first. */
const SHORT_FIELD = 24;
let scratch = Buffer.allocUnsafe(4096);

export function isCopyNull(buf: Uint8Array, start: number, end: number): boolean {
  return end - start === 2 && buf[start] === BACKSLASH && buf[start + 1] === UPPER_N;
}

export function copyFieldHasEscape(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    if (buf[i] === BACKSLASH) return true;
  }
  return false;
}

/**
 * The value of the COPY text field `buf[start, end)`: null for `\N`, otherwise the
 * de-escaped bytes decoded as UTF-8. Octal and hex escapes yield bytes, so `\303\251`
 * is 'é'. Invalid UTF-8 (raw or escaped) throws COPY_VALUE.
 */
export function decodeCopyField(buf: Uint8Array, start: number, end: number, encoding: TextEncoding = 'utf8'): string | null {
  if (end - start === 2 && buf[start] === BACKSLASH && buf[start + 1] === UPPER_N) return null;
  if (encoding === 'latin1') {
    // Single-byte encodings are read byte for byte (see dump/encoding.ts).
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
    return text.indexOf('\\') === -1 ? text : decodeEscaped(buf, start, end, encoding);
  }
  // Short ASCII fields (keys, codes, amounts) are built directly: cheaper than a decoder call.
  if (end - start <= SHORT_FIELD) {
    let text = '';
    for (let i = start; i < end; i++) {
      const c = buf[i]!;
      if (c >= 0x80 || c === BACKSLASH) {
        text = '';
        break;
      }
      text += String.fromCharCode(c);
      if (i === end - 1) return text;
    }
  }
  // Escapes are ASCII and a UTF-8 multi-byte sequence never contains 0x5C, so the
  // decoded text has a backslash exactly when the bytes do. Native decode plus a
  // native string search costs ~3% over the decode alone; a JS byte loop first ~35%.
  const text = decodeUtf8(buf.subarray(start, end));
  if (text.indexOf('\\') === -1) return text;
  return decodeEscaped(buf, start, end, encoding);
}

function decodeEscaped(buf: Uint8Array, start: number, end: number, encoding: TextEncoding): string {
  const length = end - start;
  let out = scratch;
  if (length > out.length) {
    out = Buffer.allocUnsafe(length);
    if (length <= SCRATCH_LIMIT) scratch = out;
  }
  // Bounded: the caller saw a backslash inside the range.
  const first = buf.indexOf(BACKSLASH, start);
  out.set(buf.subarray(start, first), 0);
  let n = first - start;
  let i = first;
  while (i < end) {
    let c = buf[i++] as number;
    if (c === BACKSLASH) {
      // A trailing lone backslash is dropped, as PostgreSQL does.
      if (i >= end) break;
      c = buf[i++] as number;
      if (c >= 0x30 && c <= 0x37) {
        c -= 0x30;
        let digit = i < end ? octalValue(buf[i] as number) : -1;
        if (digit >= 0) {
          c = (c << 3) + digit;
          i++;
          digit = i < end ? octalValue(buf[i] as number) : -1;
          if (digit >= 0) {
            c = (c << 3) + digit;
            i++;
          }
        }
        c &= 0xff; // PostgreSQL keeps the low byte: \501 is 'A'
      } else if (c === LOWER_X) {
        // \x without a hex digit is a plain 'x'.
        let digit = i < end ? hexValue(buf[i] as number) : -1;
        if (digit >= 0) {
          c = digit;
          i++;
          digit = i < end ? hexValue(buf[i] as number) : -1;
          if (digit >= 0) {
            c = (c << 4) + digit;
            i++;
          }
        }
      } else {
        c = ESCAPED_CONTROL[c] ?? c;
      }
    }
    out[n++] = c;
  }
  return encoding === 'latin1' ? out.toString('latin1', 0, n) : decodeUtf8(out.subarray(0, n));
}

function octalValue(c: number): number {
  return c >= 0x30 && c <= 0x37 ? c - 0x30 : -1;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

function decodeUtf8(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw new PgcloakError('COPY_VALUE', 'invalid UTF-8 in COPY field');
  }
}

/**
 * COPY text bytes for a value: null → `\N`; backslash and \b \t \n \v \f \r are
 * backslash-escaped, everything else is written as UTF-8. (Lone surrogates cannot come
 * from decodeCopyField; like Buffer.from they would become U+FFFD.)
 */
export function encodeCopyField(value: string | null, encoding: TextEncoding = 'utf8'): Buffer {
  if (value === null) return Buffer.from(NULL_MARKER);
  const first = value.search(NEEDS_ESCAPE);
  if (first === -1) return Buffer.from(value, encoding);
  let escaped = value.slice(0, first);
  let runStart = first;
  for (let i = first; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === BACKSLASH) {
      escaped += value.slice(runStart, i) + '\\\\';
      runStart = i + 1;
    } else if (c >= 0x08 && c <= 0x0d) {
      escaped += value.slice(runStart, i) + '\\' + ESCAPE_LETTERS.charAt(c - 0x08);
      runStart = i + 1;
    }
  }
  escaped += value.slice(runStart);
  return Buffer.from(escaped, encoding);
}

/**
 * encodeCopyField into `target`: the length written, or minus the length needed when
 * it does not fit. Values without characters to escape (nearly all) are written
 * directly; the rest go through encodeCopyField.
 */
export function encodeCopyFieldInto(value: string, target: Buffer, encoding: TextEncoding = 'utf8'): number {
  const n = value.length;
  let ascii = true;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === BACKSLASH || (c >= 0x08 && c <= 0x0d)) return copyInto(encodeCopyField(value, encoding), target);
    if (c >= 0x80) ascii = false;
  }
  if (ascii) {
    if (n > target.length) return -n;
    for (let i = 0; i < n; i++) target[i] = value.charCodeAt(i);
    return n;
  }
  const bytes = encoding === 'latin1' ? n : Buffer.byteLength(value, 'utf8');
  if (bytes > target.length) return -bytes;
  return target.write(value, 0, encoding);
}

function copyInto(bytes: Buffer, target: Buffer): number {
  if (bytes.length > target.length) return -bytes.length;
  bytes.copy(target, 0);
  return bytes.length;
}
