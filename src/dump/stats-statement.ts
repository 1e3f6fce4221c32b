// Optimizer statistics statements as pg_dump of PostgreSQL 18 writes them (dumpRelationStats in
// src/bin/pg_dump/pg_dump.c), one per relation and one per column:
//
//   SELECT * FROM pg_catalog.pg_restore_attribute_stats(
//   	'version', '180000'::integer,
//   	'schemaname', 'public',
//   	'relname', 'customer',
//   	'attname', 'email',
//   	'inherited', 'f'::boolean,
//   	'null_frac', '0'::real,
//   	'most_common_vals', '{alice@example.com,bob@example.com}'::text,
//   	...
//   );
//
// The arguments are name/value pairs (a variadic "any" list); values are string literals
// with a cast, the column's values inside array literals in their text form.
// https://www.postgresql.org/docs/18/functions-admin.html#FUNCTIONS-ADMIN-STATSMOD
// This reads the call's name and its pairs with the byte positions of each, so that pairs
// can be cut out and the rest kept byte for byte.

import { PgcloakError } from '../errors.js';
import { Cursor } from './insert-statement.js';
import { decodeSqlLiteral, type LiteralOptions } from './sql-literal.js';
import { BYTE } from '../io/byte-codes.js';

const { COMMA } = BYTE;

const LPAREN = 0x28;
const RPAREN = 0x29;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const DOT = 0x2e;
const STAR = 0x2a;
const SEMICOLON = 0x3b;
const COLON = 0x3a;

/**
 * Functions that write statistics, by name: PostgreSQL 18's pg_restore_relation_stats,
 * pg_restore_attribute_stats, pg_clear_*_stats, and whatever later versions add in that
 * family (pg_restore_extended_stats, ...), which callers must treat as unknown.
 */
const STATS_FUNCTION = /^pg_(?:restore|set|clear|import|load)_\w*stat/;

export interface StatsPair {
  /** The argument's name, lower-cased ('version', 'attname', 'most_common_vals', ...). */
  name: string;
  /** The pair's bytes: from its name's first byte to its value's last (casts included). */
  start: number;
  end: number;
  /** The value's literal, without a cast after it; undefined when it is an expression. */
  literal: { start: number; end: number } | undefined;
}

export interface StatsCall {
  /** The function, lower-case, without its schema: 'pg_restore_attribute_stats'. */
  fn: string;
  pairs: StatsPair[];
}

/** A statistics function call whose arguments are not name/value pairs this can read. */
export interface UnreadableStatsCall {
  fn: string;
  unreadable: true;
}

/**
 * Reads `SELECT [* FROM] [pg_catalog.]pg_<writes statistics>(pairs);`. Undefined when the
 * statement is anything else (another function, another schema's function of that name).
 */
export function parseStatsCall(
  text: Buffer,
  options: LiteralOptions,
  decodeName?: (bytes: Buffer) => string,
): StatsCall | UnreadableStatsCall | undefined {
  const c = new Cursor(text, 0, text.length, options.standardStrings, decodeName);
  if (!c.keyword('select')) return undefined;
  if (c.punct(STAR) && !c.keyword('from')) return undefined;
  let fn = c.identifier();
  if (fn === undefined) return undefined;
  if (c.punct(DOT)) {
    if (fn !== 'pg_catalog') return undefined;
    fn = c.identifier();
    if (fn === undefined) return undefined;
  }
  if (!STATS_FUNCTION.test(fn) || !c.punct(LPAREN)) return undefined;
  try {
    const pairs = readPairs(c, options);
    return pairs ? { fn, pairs } : { fn, unreadable: true };
  } catch (err) {
    if (err instanceof PgcloakError) return { fn, unreadable: true };
    throw err;
  }
}

export function isUnreadable(call: StatsCall | UnreadableStatsCall): call is UnreadableStatsCall {
  return 'unreadable' in call;
}

/** The pairs up to `)`, which only `;` may follow; undefined when they are not pairs. */
function readPairs(c: Cursor, options: LiteralOptions): StatsPair[] | undefined {
  const values: Array<{ start: number; end: number; literal: { start: number; end: number } | undefined }> = [];
  c.skipSpace();
  if (c.buf[c.pos] === RPAREN) c.pos++;
  else {
    for (;;) {
      c.skipSpace();
      const start = c.pos;
      let end = start;
      let firstEnd = -1;
      let castAfterFirst = false;
      let depth = 0;
      let tokens = 0;
      for (;;) {
        c.skipSpace();
        if (c.pos >= c.end) return undefined;
        const b = c.buf[c.pos]!;
        if (depth === 0 && (b === COMMA || b === RPAREN)) break;
        const tokenEnd = c.token();
        if (b === LPAREN || b === LBRACKET) depth++;
        else if (b === RPAREN || b === RBRACKET) depth--;
        tokens++;
        if (tokens === 1) firstEnd = tokenEnd;
        else if (tokens === 2) castAfterFirst = b === COLON && c.buf[tokenEnd] === COLON;
        end = tokenEnd;
      }
      if (tokens === 0) return undefined;
      values.push({ start, end, literal: tokens === 1 || castAfterFirst ? { start, end: firstEnd } : undefined });
      const b = c.buf[c.pos++]!;
      if (b === RPAREN) break;
    }
  }
  c.skipSpace();
  if (c.buf[c.pos] !== SEMICOLON) return undefined;
  c.pos++;
  c.skipSpace();
  if (c.pos !== c.end || values.length % 2 !== 0) return undefined;
  const pairs: StatsPair[] = [];
  for (let i = 0; i < values.length; i += 2) {
    const name = values[i]!;
    const value = values[i + 1]!;
    if (!name.literal) return undefined;
    const decoded = decodeSqlLiteral(c.buf, name.literal.start, name.literal.end, options);
    if (decoded === null) return undefined;
    pairs.push({ name: decoded.toLowerCase(), start: name.start, end: value.end, literal: value.literal });
  }
  return pairs;
}

/** The text of a pair's value, when it is a literal (NULL: null). */
export function pairValue(text: Buffer, pair: StatsPair, options: LiteralOptions): string | null | undefined {
  if (!pair.literal) return undefined;
  try {
    return decodeSqlLiteral(text, pair.literal.start, pair.literal.end, options);
  } catch {
    return undefined;
  }
}

/** The statement with only the pairs `keep` accepts, everything else byte for byte. */
export function keepPairs(text: Buffer, call: StatsCall, keep: (pair: StatsPair) => boolean): Buffer {
  const pairs = call.pairs;
  if (pairs.length === 0 || pairs.every(keep)) return text;
  const parts: Buffer[] = [text.subarray(0, pairs[0]!.start)];
  let previous = -1;
  for (let i = 0; i < pairs.length; i++) {
    if (!keep(pairs[i]!)) continue;
    // Between two kept pairs, the separator that followed the first of them.
    if (previous !== -1) parts.push(text.subarray(pairs[previous]!.end, pairs[previous + 1]!.start));
    parts.push(text.subarray(pairs[i]!.start, pairs[i]!.end));
    previous = i;
  }
  parts.push(text.subarray(pairs[pairs.length - 1]!.end));
  return Buffer.concat(parts);
}
