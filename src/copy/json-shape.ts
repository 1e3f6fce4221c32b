// Mask a json/jsonb value but keep its shape: every string value becomes a placeholder,
// every number 0, every boolean false; keys, key order, duplicate keys, null and all
// whitespace stay byte for byte. https://www.rfc-editor.org/rfc/rfc8259 (the grammar
// PostgreSQL's json input accepts; https://www.postgresql.org/docs/current/datatype-json.html)
// A hand-written scanner rather than JSON.parse: parse + stringify would lose duplicate
// keys and whitespace, and would reorder integer-like keys.

import { PgcloakError } from '../errors.js';
import { BYTE } from '../io/byte-codes.js';

const { QUOTE, COMMA, BACKSLASH } = BYTE;

const LBRACE = 0x7b; // '{'
const RBRACE = 0x7d; // '}'
const LBRACKET = 0x5b; // '['
const RBRACKET = 0x5d; // ']'
const COLON = 0x3a;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const LOWER_U = 0x75; // \uXXXX
const LOWER_T = 0x74; // true
const LOWER_F = 0x66; // false
const LOWER_N = 0x6e; // null

/** The JSON path of a leaf: object keys (decoded) and array indexes, outermost first. */
export type JsonPath = readonly (string | number)[];

/**
 * `text` with every string value replaced by `stringLeaf(path)` (JSON-quoted), every
 * number by `0` and every boolean by `false`. `path` is the live path stack: read it
 * during the call, copy it to keep it. Invalid JSON throws COPY_VALUE.
 */
export function maskJsonShape(text: string, stringLeaf: (path: JsonPath) => string): string {
  // One entry per open non-empty container: the current key (object) or index (array).
  // An explicit stack: 10,000 levels of nesting cost memory, not call stack.
  const path: (string | number)[] = [];
  const n = text.length;
  let out = '';
  let copied = 0; // text[copied, i) is still to be copied verbatim
  let i = skipSpace(text, 0);

  for (;;) {
    // A value starts at i.
    const c = text.charCodeAt(i);
    if (c === LBRACE) {
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === RBRACE) {
        i++;
      } else {
        path.push('');
        i = readMember(text, i, path);
        continue;
      }
    } else if (c === LBRACKET) {
      i = skipSpace(text, i + 1);
      if (text.charCodeAt(i) === RBRACKET) {
        i++;
      } else {
        path.push(0);
        continue;
      }
    } else if (c === QUOTE) {
      const end = skipString(text, i);
      out += text.slice(copied, i) + JSON.stringify(stringLeaf(path));
      copied = i = end;
    } else if (c === MINUS || isDigit(c)) {
      const end = skipNumber(text, i);
      if (end - i !== 1 || c !== ZERO) {
        out += text.slice(copied, i) + '0';
        copied = end;
      }
      i = end;
    } else if (c === LOWER_T && text.startsWith('true', i)) {
      out += text.slice(copied, i) + 'false';
      copied = i = i + 4;
    } else if (c === LOWER_F && text.startsWith('false', i)) {
      i += 5;
    } else if (c === LOWER_N && text.startsWith('null', i)) {
      i += 4;
    } else {
      throw invalid(i >= n ? 'unexpected end' : 'unexpected character', i);
    }

    // A value ended at i: close containers until one continues with ','.
    for (;;) {
      i = skipSpace(text, i);
      const depth = path.length;
      if (depth === 0) {
        if (i !== n) throw invalid('unexpected text after the value', i);
        return copied === 0 ? text : out + text.slice(copied);
      }
      const next = text.charCodeAt(i);
      const key = path[depth - 1] as string | number;
      if (typeof key === 'number') {
        if (next === COMMA) {
          path[depth - 1] = key + 1;
          i = skipSpace(text, i + 1);
          break;
        }
        if (next !== RBRACKET) throw invalid(i >= n ? 'unexpected end' : 'expected "," or "]"', i);
      } else {
        if (next === COMMA) {
          i = readMember(text, skipSpace(text, i + 1), path);
          break;
        }
        if (next !== RBRACE) throw invalid(i >= n ? 'unexpected end' : 'expected "," or "}"', i);
      }
      path.pop();
      i++;
    }
  }
}

/** `"key" :` at i; sets the top of `path` to the decoded key and returns where the value starts. */
function readMember(text: string, i: number, path: (string | number)[]): number {
  if (text.charCodeAt(i) !== QUOTE) throw invalid(i >= text.length ? 'unexpected end' : 'expected a key', i);
  const end = skipString(text, i);
  path[path.length - 1] = stringHadEscape ? unescapeString(text, i + 1, end - 1) : text.slice(i + 1, end - 1);
  i = skipSpace(text, end);
  if (text.charCodeAt(i) !== COLON) throw invalid(i >= text.length ? 'unexpected end' : 'expected ":"', i);
  return skipSpace(text, i + 1);
}

// Set by skipString: whether the string just skipped holds an escape. Synchronous use only.
let stringHadEscape = false;

/** From the opening quote; returns the index after the closing quote. */
function skipString(text: string, i: number): number {
  const n = text.length;
  stringHadEscape = false;
  for (i++; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) return i + 1;
    if (c === BACKSLASH) {
      stringHadEscape = true;
      const e = text.charCodeAt(i + 1);
      if (e === LOWER_U) {
        if (
          hexValue(text.charCodeAt(i + 2)) < 0 ||
          hexValue(text.charCodeAt(i + 3)) < 0 ||
          hexValue(text.charCodeAt(i + 4)) < 0 ||
          hexValue(text.charCodeAt(i + 5)) < 0
        ) {
          throw invalid('invalid \\u escape', i);
        }
        i += 5;
      } else if (SIMPLE_ESCAPES[e] !== undefined) {
        i++;
      } else {
        throw invalid(i + 1 >= n ? 'unexpected end' : 'invalid escape', i);
      }
    } else if (c < 0x20) {
      throw invalid('control character in string', i);
    }
  }
  throw invalid('unterminated string', n);
}

// The character each one-letter escape stands for, indexed by the letter's code.
const SIMPLE_ESCAPES: Record<number, string> = {
  0x22: '"',
  0x5c: '\\',
  0x2f: '/',
  0x62: '\b',
  0x66: '\f',
  0x6e: '\n',
  0x72: '\r',
  0x74: '\t',
};

/** The value of a string whose escapes skipString already validated. */
function unescapeString(text: string, start: number, end: number): string {
  let value = '';
  let runStart = start;
  for (let i = start; i < end; i++) {
    if (text.charCodeAt(i) !== BACKSLASH) continue;
    value += text.slice(runStart, i);
    const e = text.charCodeAt(i + 1);
    if (e === LOWER_U) {
      // Surrogate halves are separate escapes; concatenated they form the pair.
      value += String.fromCharCode(
        (hexValue(text.charCodeAt(i + 2)) << 12) |
          (hexValue(text.charCodeAt(i + 3)) << 8) |
          (hexValue(text.charCodeAt(i + 4)) << 4) |
          hexValue(text.charCodeAt(i + 5)),
      );
      i += 5;
    } else {
      value += SIMPLE_ESCAPES[e] as string;
      i++;
    }
    runStart = i + 1;
  }
  return value + text.slice(runStart, end);
}

/** -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? at i; returns its end. */
function skipNumber(text: string, i: number): number {
  const start = i;
  if (text.charCodeAt(i) === MINUS) i++;
  const first = text.charCodeAt(i);
  if (first === ZERO) i++;
  else if (isDigit(first)) i = skipDigits(text, i + 1);
  else throw invalid('invalid number', start);
  if (text.charCodeAt(i) === DOT) {
    if (!isDigit(text.charCodeAt(i + 1))) throw invalid('invalid number', start);
    i = skipDigits(text, i + 2);
  }
  const e = text.charCodeAt(i);
  if (e === LOWER_E || e === UPPER_E) {
    i++;
    const sign = text.charCodeAt(i);
    if (sign === PLUS || sign === MINUS) i++;
    if (!isDigit(text.charCodeAt(i))) throw invalid('invalid number', start);
    i = skipDigits(text, i + 1);
  }
  return i;
}

function skipDigits(text: string, i: number): number {
  while (isDigit(text.charCodeAt(i))) i++;
  return i;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  const lower = c | 0x20;
  if (lower >= 0x61 && lower <= 0x66) return lower - 0x61 + 10;
  return -1;
}

/** JSON whitespace: space, tab, newline, carriage return — nothing else. */
function skipSpace(text: string, i: number): number {
  for (;;) {
    const c = text.charCodeAt(i);
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return i;
    i++;
  }
}

function invalid(reason: string, index: number): PgcloakError {
  // Never the text itself: it is the data being masked.
  return new PgcloakError('COPY_VALUE', `invalid json: ${reason} at character ${index}`);
}
