// PostgreSQL array text I/O: rewrite every non-NULL element of an array literal and keep
// its structure. https://www.postgresql.org/docs/current/arrays.html#ARRAYS-IO
// Input is read as array_in (PostgreSQL 17's ReadArrayToken) reads it; output is
// written as array_out writes it, so a literal from a dump maps to itself under identity.

import { PgcloakError } from '../errors.js';
import { BYTE } from '../io/byte-codes.js';

const { QUOTE, BACKSLASH } = BYTE;

const LBRACE = 0x7b; // '{'
const RBRACE = 0x7d; // '}'
const LBRACKET = 0x5b; // '[' opens a dimension decoration like [0:1]=
const RBRACKET = 0x5d; // ']'
const COLON = 0x3a; // ':' between bounds of a dimension
const EQUALS = 0x3d; // '=' ends the dimension decoration
const PLUS = 0x2b;
const MINUS = 0x2d;

export interface ArrayElementCount {
  /** Every element, NULL or not. */
  elements: number;
  nulls: number;
}

/**
 * The array literal with `mapElement` applied to the de-escaped value of every non-NULL
 * element, re-quoted as PostgreSQL would. Unquoted NULL (any case) stays NULL and is not
 * passed to `mapElement`; a quoted "NULL" is a string and is. A dimension decoration
 * (`[0:1]=`) and surrounding whitespace are kept verbatim.
 */
export function mapArrayLiteral(
  text: string,
  mapElement: (element: string) => string,
  delimiter = ',',
): string {
  return walkArrayLiteral(text, checkDelimiter(delimiter), delimiter, mapElement, null, null);
}

export function countArrayElements(text: string, delimiter = ','): ArrayElementCount {
  const count = { elements: 0, nulls: 0 };
  walkArrayLiteral(text, checkDelimiter(delimiter), delimiter, null, count, null);
  return count;
}

/** An array as array_in reads it: its dimensions, their lower bounds, and its elements in order (NULL: null). */
export interface ArrayShape {
  dims: number[];
  lowerBounds: number[];
  elements: (string | null)[];
}

/** array_in's MAXDIM. */
const MAX_DIMENSIONS = 6;

/**
 * The array a literal denotes (what binary COPY writes, ./binary-values.ts): its
 * dimensions checked as array_in checks them (rectangular, at most six, matching a
 * `[lb:ub]=` decoration when there is one).
 */
export function readArrayLiteral(text: string, delimiter = ','): ArrayShape {
  const shape: ArrayShape & { declared: number[][] } = { dims: [], lowerBounds: [], elements: [], declared: [] };
  walkArrayLiteral(text, checkDelimiter(delimiter), delimiter, null, null, shape);
  const { dims, declared } = shape;
  if (dims.length > MAX_DIMENSIONS) throw malformed(`more than ${MAX_DIMENSIONS} dimensions`, 0);
  if (shape.elements.length === 0) return { dims: [], lowerBounds: [], elements: shape.elements };
  if (declared.length === 0) return { dims, lowerBounds: dims.map(() => 1), elements: shape.elements };
  if (declared.length !== dims.length || declared.some(([lower, upper], d) => upper! - lower! + 1 !== dims[d])) throw malformed('dimensions that do not match the elements', 0);
  return { dims, lowerBounds: declared.map(([lower]) => lower!), elements: shape.elements };
}

/** array_out's quoting of one element: see quoteElement. */
export function quoteArrayElement(value: string, delimiter = ','): string {
  return quoteElement(value, checkDelimiter(delimiter));
}

function checkDelimiter(delimiter: string): number {
  const code = delimiter.charCodeAt(0);
  if (
    delimiter.length !== 1 ||
    code === LBRACE ||
    code === RBRACE ||
    code === QUOTE ||
    code === BACKSLASH ||
    isArraySpace(code)
  ) {
    throw new PgcloakError('USAGE', 'array delimiter must be one character other than { } " \\ or whitespace');
  }
  return code;
}

/** scanner_isspace: the whitespace array_in skips and array_out quotes. */
function isArraySpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

function malformed(reason: string, index: number): PgcloakError {
  // Never the literal itself: it is the data being masked.
  return new PgcloakError('COPY_VALUE', `malformed array literal: ${reason} at character ${index}`);
}

const EXPECT_FIRST = 0; // after '{': an element, a sub-array, or '}' if this is the whole array
const EXPECT_ITEM = 1; // after a delimiter: an element or a sub-array
const EXPECT_DELIMITER = 2; // after an item: a delimiter or '}'

/**
 * One pass over the literal. With `mapElement` it returns the rewritten literal; with
 * `count` it only counts. Explicit depth bookkeeping instead of recursion, so nesting
 * depth costs memory, not stack.
 */
function walkArrayLiteral(
  text: string,
  delim: number,
  delimiter: string,
  mapElement: ((element: string) => string) | null,
  count: ArrayElementCount | null,
  shape: (ArrayShape & { declared: number[][] }) | null,
): string {
  const n = text.length;
  let i = skipSpace(text, 0);
  if (text.charCodeAt(i) === LBRACKET) i = skipDimensions(text, i, shape?.declared);
  if (text.charCodeAt(i) !== LBRACE) throw malformed('expected "{"', i);
  const build = mapElement !== null;
  let out = build ? text.slice(0, i + 1) : '';
  i++;

  // itemCounts[d]: items seen so far in the open array at depth d + 1.
  // dimensionLengths[d]: the item count every array at depth d + 1 must have (rectangular).
  const itemCounts: number[] = [0];
  const dimensionLengths: number[] = [];
  let depth = 1;
  let elementDepth = -1; // all elements sit at one depth; -1 until the first is seen
  let state = EXPECT_FIRST;

  for (;;) {
    i = skipSpace(text, i);
    if (i >= n) throw malformed('unexpected end', i);
    const c = text.charCodeAt(i);

    if (state === EXPECT_DELIMITER) {
      if (c === delim) {
        if (build) out += delimiter;
        i++;
        state = EXPECT_ITEM;
        continue;
      }
      if (c !== RBRACE) throw malformed('expected delimiter or "}"', i);
    }

    if (c === RBRACE) {
      if (state === EXPECT_ITEM) throw malformed('missing element', i);
      // Only the whole array may be empty: PostgreSQL rejects {{},{}}.
      if (state === EXPECT_FIRST && depth > 1) throw malformed('empty sub-array', i);
      const items = itemCounts[depth - 1] as number;
      const expected = dimensionLengths[depth - 1];
      if (expected === undefined) dimensionLengths[depth - 1] = items;
      else if (expected !== items) throw malformed('sub-arrays of different lengths', i);
      if (build) out += '}';
      i++;
      depth--;
      if (depth === 0) break;
      state = EXPECT_DELIMITER;
      continue;
    }

    if (c === LBRACE) {
      if (elementDepth !== -1 && depth >= elementDepth) throw malformed('unexpected "{"', i);
      itemCounts[depth - 1] = (itemCounts[depth - 1] as number) + 1;
      itemCounts[depth] = 0;
      depth++;
      if (build) out += '{';
      i++;
      state = EXPECT_FIRST;
      continue;
    }

    if (c === delim) throw malformed('missing element', i);
    if (elementDepth === -1) elementDepth = depth;
    else if (elementDepth !== depth) throw malformed('unexpected element', i);
    itemCounts[depth - 1] = (itemCounts[depth - 1] as number) + 1;

    let value: string | null;
    if (c === QUOTE) {
      i = readQuoted(text, i + 1);
      value = element;
      // A quoted element must be all of the element: only whitespace may follow.
      i = skipSpace(text, i);
      const next = text.charCodeAt(i);
      if (next !== delim && next !== RBRACE) throw malformed('incorrectly quoted element', i);
    } else {
      i = readUnquoted(text, i, delim);
      value = element;
      if (!elementEscaped && isNullWord(value)) value = null;
    }

    shape?.elements.push(value);
    if (value === null) {
      if (count !== null) count.nulls++;
      if (build) out += 'NULL';
    } else if (mapElement !== null) {
      out += quoteElement(mapElement(value), delim);
    }
    if (count !== null) count.elements++;
    state = EXPECT_DELIMITER;
  }

  const end = skipSpace(text, i);
  if (end !== n) throw malformed('unexpected text after "}"', end);
  // Elements sit at elementDepth: the dimensions are the item counts of the arrays above them.
  if (shape !== null && elementDepth !== -1) shape.dims = dimensionLengths.slice(0, elementDepth);
  return build ? out + text.slice(i) : '';
}

// Results of readQuoted / readUnquoted besides the returned index (no tuple allocation
// per element; everything here is synchronous).
let element = '';
let elementEscaped = false;

/** From just after the opening quote; returns the index after the closing quote. */
function readQuoted(text: string, start: number): number {
  const n = text.length;
  let value = '';
  let runStart = start;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      element = value + text.slice(runStart, i);
      return i + 1;
    }
    if (c === BACKSLASH) {
      if (i + 1 >= n) break;
      value += text.slice(runStart, i);
      runStart = i + 1;
      i++;
    }
  }
  throw malformed('unterminated quoted element', n);
}

/** From the first character; returns the index of the delimiter or '}' that ends it. */
function readUnquoted(text: string, start: number, delim: number): number {
  const n = text.length;
  let value = '';
  let runStart = start;
  let contentEnd = start; // trailing unescaped whitespace is not part of the element
  elementEscaped = false;
  for (let i = start; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === delim || c === RBRACE) {
      element = contentEnd > runStart ? value + text.slice(runStart, contentEnd) : value;
      return i;
    }
    if (c === QUOTE || c === LBRACE) throw malformed('unexpected character in unquoted element', i);
    if (c === BACKSLASH) {
      if (i + 1 >= n) break;
      // The escaped character counts as content even if it is whitespace.
      value += text.slice(runStart, i) + text.charAt(i + 1);
      i++;
      runStart = i + 1;
      contentEnd = runStart;
      elementEscaped = true;
    } else if (!isArraySpace(c)) {
      contentEnd = i + 1;
    }
  }
  throw malformed('unexpected end', n);
}

function isNullWord(s: string): boolean {
  return (
    s.length === 4 &&
    (s.charCodeAt(0) | 0x20) === 0x6e && // n
    (s.charCodeAt(1) | 0x20) === 0x75 && // u
    (s.charCodeAt(2) | 0x20) === 0x6c && // l
    (s.charCodeAt(3) | 0x20) === 0x6c // l
  );
}

/** array_out's quoting: quote when empty, NULL-like, or holding braces, quotes, backslashes, the delimiter or whitespace. */
function quoteElement(value: string, delim: number): string {
  let needsQuotes = value.length === 0 || isNullWord(value);
  let needsEscapes = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === QUOTE || c === BACKSLASH) {
      needsEscapes = true;
      break;
    }
    if (c === LBRACE || c === RBRACE || c === delim || isArraySpace(c)) needsQuotes = true;
  }
  if (needsEscapes) {
    let escaped = '"';
    let runStart = 0;
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === QUOTE || c === BACKSLASH) {
        escaped += value.slice(runStart, i) + '\\';
        runStart = i;
      }
    }
    return escaped + value.slice(runStart) + '"';
  }
  return needsQuotes ? '"' + value + '"' : value;
}

function skipSpace(text: string, i: number): number {
  while (isArraySpace(text.charCodeAt(i))) i++;
  return i;
}

/**
 * `[lb:ub]...=` with optional whitespace before '='/after it; returns the index of '{'.
 * `bounds`: each dimension's [lower, upper] is added to it (`[ub]` is `[1:ub]`).
 */
function skipDimensions(text: string, i: number, bounds?: number[][]): number {
  while (text.charCodeAt(i) === LBRACKET) {
    const first = i + 1;
    i = skipBound(text, first);
    let lower = 1;
    let upper = Number(text.slice(first, i));
    if (text.charCodeAt(i) === COLON) {
      const second = i + 1;
      i = skipBound(text, second);
      lower = upper;
      upper = Number(text.slice(second, i));
    }
    if (text.charCodeAt(i) !== RBRACKET) throw malformed('expected "]" in dimensions', i);
    if (bounds) {
      if (upper < lower - 1) throw malformed('an upper bound below the lower bound', i);
      bounds.push([lower, upper]);
    }
    i++;
  }
  i = skipSpace(text, i);
  if (text.charCodeAt(i) !== EQUALS) throw malformed('expected "=" after dimensions', i);
  return skipSpace(text, i + 1);
}

function skipBound(text: string, i: number): number {
  i = skipSpace(text, i);
  const sign = text.charCodeAt(i);
  if (sign === PLUS || sign === MINUS) i++;
  const digitsStart = i;
  while (isDigit(text.charCodeAt(i))) i++;
  if (i === digitsStart) throw malformed('missing dimension value', i);
  return skipSpace(text, i);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
