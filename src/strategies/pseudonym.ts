// `pseudonym`: a keyed, deterministic substitute that keeps the value's shape, so e-mails still
// look like e-mails and phone numbers like phone numbers to the application, and joins on
// masked columns still match: the same original gives the same pseudonym in every table under
// one key (ColumnContext.secret: made for the run, or a persistent one, see
// mask/strategy-secret.ts), another key gives other pseudonyms.
//
// Shape: an ASCII letter becomes an ASCII letter of the same case, an ASCII digit a digit;
// any other letter (é, ß, Ж, 中) becomes one of 30 accented Latin letters (à…þ or À…Þ, by its
// case), any other decimal digit an ASCII digit; everything else (@ . + - _ space, punctuation,
// symbols, combining marks) stays where it is. So the length in characters is kept (varchar(n)
// still fits), and the length in UTF-8 bytes never grows.
//
// The ASCII letters and digits go through a keyed permutation of all the values of their shape
// (a format-preserving permutation), tweaked by the rule's `domain:`. A shape of fewer than
// SMALL_DOMAIN_LIMIT values (one letter, two digits, four letters, five digits) is shuffled
// whole (./small-domain.ts), one table for each pattern of letters and digits, whatever the
// other characters; a larger one goes through a Feistel network on the mixed-radix number its
// letters and digits form (10 rounds, keyed BLAKE2b as round function, after NIST FF1),
// tweaked by the whole shape. Two different values of the same shape never get the same
// pseudonym, so UNIQUE constraints still hold after a restore. Letters are permuted case-folded
// and keep their case: values that differ only in case get pseudonyms that differ only in case
// (joins on lower(email) still match; it also shows which values are case variants).
// Two cases use a keyed stream instead of the permutation, where a repeat is possible but
// practically never happens: values with more than FEISTEL_MAX_POSITIONS ASCII letters and
// digits (too long to repeat), and the non-ASCII letters and digits (derived from the whole
// value, so values that differ only there repeat with probability 1/30 per such letter).
//
// Algorithm versions (recorded in the vault, so unmask masks rows again as they were masked):
//   1  pgcloak 0.1.0: the Feistel network on every domain; on one position it is a keyed shift
//   2  domains below SMALL_DOMAIN_LIMIT shuffled whole; the `domain:` parameter. Larger domains,
//      long values and non-ASCII letters without a `domain:` give what version 1 gave.

import { PgcloakError } from '../errors.js';
import { mapArrayLiteral } from '../copy/array-literal.js';
import type { ResolvedType } from '../schema/types.js';
import { sodium } from '../sodium.js';
import { shuffledDomain, SMALL_DOMAIN_LIMIT } from './small-domain.js';
import type { ColumnContext, StrategyDefinition, ValueMask } from './strategy.js';

/** The pseudonym algorithm of new vaults (see the versions above). */
export const PSEUDONYM_VERSION = 2;
export const PSEUDONYM_VERSIONS: readonly number[] = [1, 2];
const ROUNDS = 10;
/** Up to this many ASCII letters and digits, the permutation; beyond, a keyed stream. */
export const FEISTEL_MAX_POSITIONS = 64;

// Latin-1 letters that have both cases, paired by position (× and ÷ are not letters).
const ACCENTED_LOWER = Array.from('àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ');
const ACCENTED_UPPER = Array.from('ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ');

// Character classes.
const ASCII_LOWER = 0;
const ASCII_UPPER = 1;
const ASCII_DIGIT = 2;
const LETTER_LOWER = 3; // any other letter, lower case or caseless
const LETTER_UPPER = 4; // any other letter, upper or title case
const OTHER_DIGIT = 5; // any other decimal digit
const KEPT = 6;

// What stands for each class in the tweak; the ASCII letters share one (case-folded).
const TWEAK_ASCII_LETTER = 1;
const TWEAK_ASCII_DIGIT = 2;
const TWEAK_LETTER = 3; // then the folded letter's code point
const TWEAK_OTHER_DIGIT = 4; // then its code point
const TWEAK_KEPT = 5; // then its code point
const TWEAK_DOMAIN = 6; // last, then the u16 length and UTF-8 bytes of the rule's `domain:`
/** The longest `domain:` a rule may name, in characters. */
export const MAX_DOMAIN_LENGTH = 100;

// Domain separation of the keyed BLAKE2b calls (hash.ts uses 'H' and 'D', small-domain.ts 'S').
const TAG_ROUND = 0x46; // 'F': a Feistel round
const TAG_LONG = 0x4c; // 'L': the stream for long values
const TAG_EXTRA = 0x58; // 'X': the stream for non-ASCII letters and digits

const LETTER = /\p{L}/u;
const UPPER_LETTER = /[\p{Lu}\p{Lt}]/u;
const DECIMAL_DIGIT = /\p{Nd}/u;

function classify(cp: number, ch: string): number {
  if (cp >= 0x61 && cp <= 0x7a) return ASCII_LOWER;
  if (cp >= 0x41 && cp <= 0x5a) return ASCII_UPPER;
  if (cp >= 0x30 && cp <= 0x39) return ASCII_DIGIT;
  if (cp < 0x80) return KEPT;
  if (LETTER.test(ch)) return UPPER_LETTER.test(ch) ? LETTER_UPPER : LETTER_LOWER;
  if (DECIMAL_DIGIT.test(ch)) return OTHER_DIGIT;
  return KEPT;
}

export interface PseudonymOptions {
  /** The rule's `domain:`: another domain gives unrelated pseudonyms. */
  domain?: string | undefined;
  /** The algorithm (PSEUDONYM_VERSIONS); default PSEUDONYM_VERSION. */
  version?: number | undefined;
}

/** The pseudonym function of one column: `secret` (32 bytes) and the options, prepared once. */
export function pseudonymizer(secret: Buffer, options: PseudonymOptions = {}): (value: string) => string {
  const version = options.version ?? PSEUDONYM_VERSION;
  if (!PSEUDONYM_VERSIONS.includes(version)) throw new PgcloakError('VAULT_FORMAT', `unknown pseudonym algorithm version ${version}`);
  const domain = options.domain === undefined ? undefined : domainTweak(options.domain);
  return (value) => pseudonymOf(value, secret, domain, version);
}

/** The pseudonym of `value` under the 32-byte `secret`. */
export function pseudonymText(value: string, secret: Buffer, options: PseudonymOptions = {}): string {
  return pseudonymizer(secret, options)(value);
}

/** What a `domain:` adds to the tweak: after every character's entry, so it cannot be read as one. */
function domainTweak(domain: string): Buffer {
  const bytes = Buffer.from(domain, 'utf8');
  const out = Buffer.alloc(3 + bytes.length);
  out[0] = TWEAK_DOMAIN;
  out.writeUInt16BE(bytes.length, 1);
  bytes.copy(out, 3);
  return out;
}

function pseudonymOf(value: string, secret: Buffer, domain: Buffer | undefined, version: number): string {
  const chars = Array.from(value);
  const classes = new Uint8Array(chars.length);
  const tweak = Buffer.alloc(4 * chars.length + (domain?.length ?? 0));
  let t = 0;
  const digits: number[] = [];
  const radices: number[] = [];
  let extras = 0;
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i]!;
    const cp = ch.codePointAt(0)!;
    const cls = classify(cp, ch);
    classes[i] = cls;
    switch (cls) {
      case ASCII_LOWER:
      case ASCII_UPPER:
        tweak[t++] = TWEAK_ASCII_LETTER;
        digits.push((cp | 0x20) - 0x61);
        radices.push(26);
        break;
      case ASCII_DIGIT:
        tweak[t++] = TWEAK_ASCII_DIGIT;
        digits.push(cp - 0x30);
        radices.push(10);
        break;
      case LETTER_LOWER:
      case LETTER_UPPER: {
        const folded = Array.from(ch.toLowerCase());
        tweak[t++] = TWEAK_LETTER;
        t = tweak.writeUIntBE(folded.length === 1 ? folded[0]!.codePointAt(0)! : cp, t, 3);
        extras++;
        break;
      }
      case OTHER_DIGIT:
        tweak[t++] = TWEAK_OTHER_DIGIT;
        t = tweak.writeUIntBE(cp, t, 3);
        extras++;
        break;
      default:
        tweak[t++] = TWEAK_KEPT;
        t = tweak.writeUIntBE(cp, t, 3);
    }
  }
  if (digits.length === 0 && extras === 0) return value;
  if (domain) t += domain.copy(tweak, t);
  const shape = tweak.subarray(0, t);
  // The whole value, case-folded: the shape and the letters and digits.
  const folded = Buffer.concat([shape, Uint8Array.from(digits)]);

  if (digits.length > FEISTEL_MAX_POSITIONS) {
    const stream = keyedStream(TAG_LONG, folded, 2 * digits.length, secret);
    for (let k = 0; k < digits.length; k++) digits[k] = stream.readUInt16BE(2 * k) % radices[k]!;
  } else if (digits.length > 0) {
    const size = version >= 2 ? domainSize(radices) : Infinity;
    if (size < SMALL_DOMAIN_LIMIT) shuffleDigits(digits, radices, shuffledDomain(secret, smallDomainTweak(radices, domain), size));
    else permute(digits, radices, shape, secret);
  }
  const extra = extras > 0 ? keyedStream(TAG_EXTRA, folded, 2 * extras, secret) : undefined;

  let out = '';
  let k = 0;
  let x = 0;
  for (let i = 0; i < chars.length; i++) {
    switch (classes[i]) {
      case ASCII_LOWER:
        out += String.fromCharCode(0x61 + digits[k++]!);
        break;
      case ASCII_UPPER:
        out += String.fromCharCode(0x41 + digits[k++]!);
        break;
      case ASCII_DIGIT:
        out += String.fromCharCode(0x30 + digits[k++]!);
        break;
      case LETTER_LOWER:
        out += ACCENTED_LOWER[extra!.readUInt16BE(2 * x++) % ACCENTED_LOWER.length]!;
        break;
      case LETTER_UPPER:
        out += ACCENTED_UPPER[extra!.readUInt16BE(2 * x++) % ACCENTED_UPPER.length]!;
        break;
      case OTHER_DIGIT:
        out += String.fromCharCode(0x30 + (extra!.readUInt16BE(2 * x++) % 10));
        break;
      default:
        out += chars[i]!;
    }
  }
  return out;
}

/** How many values the radices give, or Infinity from SMALL_DOMAIN_LIMIT on. */
function domainSize(radices: number[]): number {
  let size = 1;
  for (const r of radices) {
    size *= r;
    if (size >= SMALL_DOMAIN_LIMIT) return Infinity;
  }
  return size;
}

/**
 * What names a small domain's table: the radix of each position (10 or 26) and the rule's
 * domain, not the characters around them. So a domain has at most 46 tables (every pattern of
 * digits and letters with fewer than SMALL_DOMAIN_LIMIT values), which stay cached however many
 * shapes a column holds; making one table per shape made a column of short values with varied
 * punctuation build a table of up to 10^6 values for nearly every value.
 */
function smallDomainTweak(radices: number[], domain: Buffer | undefined): Buffer {
  const out = Buffer.alloc(1 + radices.length + (domain?.length ?? 0));
  out[0] = radices.length;
  for (let i = 0; i < radices.length; i++) out[1 + i] = radices[i]!;
  domain?.copy(out, 1 + radices.length);
  return out;
}

/** Replaces `digits` by their image under a shuffled small domain (`table[x]`, x their mixed-radix number). */
function shuffleDigits(digits: number[], radices: number[], table: ArrayLike<number>): void {
  let x = 0;
  for (let i = 0; i < digits.length; i++) x = x * radices[i]! + digits[i]!;
  let y = table[x]!;
  for (let i = digits.length - 1; i >= 0; i--) {
    const r = radices[i]!;
    digits[i] = y % r;
    y = (y - digits[i]!) / r;
  }
}

/**
 * Replaces `digits` (each below its radix) by their image under a keyed permutation of all
 * such sequences: an alternating Feistel network on the two halves read as mixed-radix
 * numbers, each round adding a keyed BLAKE2b of the other half (and the tweak) modulo the
 * size of its own half. Every round is invertible, so the whole is a bijection.
 */
function permute(digits: number[], radices: number[], tweak: Buffer, secret: Buffer): void {
  const n = digits.length;
  const u = n >> 1; // left half [0, u), right half [u, n); the left is empty for one position
  const sizeL = radixProduct(radices, 0, u);
  const sizeR = radixProduct(radices, u, n);
  const widthL = byteWidth(sizeL);
  const widthR = byteWidth(sizeR);
  let left = toNumber(digits, radices, 0, u);
  let right = toNumber(digits, radices, u, n);
  // TAG_ROUND, round, u16 number of positions, the tweak, then the other half.
  const head = 4 + tweak.length;
  const message = Buffer.alloc(head + Math.max(widthL, widthR));
  message[0] = TAG_ROUND;
  message.writeUInt16BE(n, 2);
  tweak.copy(message, 4);
  const outL = Buffer.alloc(Math.min(64, widthL + 16));
  const outR = Buffer.alloc(Math.min(64, widthR + 16));
  for (let round = 0; round < ROUNDS; round++) {
    message[1] = round;
    if (round % 2 === 0) {
      writeNumber(right, message, head, widthR);
      sodium.crypto_generichash(outL, message.subarray(0, head + widthR), secret);
      left = (left + BigInt(`0x${outL.toString('hex')}`)) % sizeL;
    } else {
      writeNumber(left, message, head, widthL);
      sodium.crypto_generichash(outR, message.subarray(0, head + widthL), secret);
      right = (right + BigInt(`0x${outR.toString('hex')}`)) % sizeR;
    }
  }
  fromNumber(left, digits, radices, 0, u);
  fromNumber(right, digits, radices, u, n);
}

function radixProduct(radices: number[], from: number, to: number): bigint {
  let p = 1n;
  for (let i = from; i < to; i++) p *= BigInt(radices[i]!);
  return p;
}

/** Bytes needed for any number below `size` (at least one). */
function byteWidth(size: bigint): number {
  return Math.max(1, Math.ceil((size - 1n).toString(16).length / 2));
}

function toNumber(digits: number[], radices: number[], from: number, to: number): bigint {
  let x = 0n;
  for (let i = from; i < to; i++) x = x * BigInt(radices[i]!) + BigInt(digits[i]!);
  return x;
}

function fromNumber(x: bigint, digits: number[], radices: number[], from: number, to: number): void {
  for (let i = to - 1; i >= from; i--) {
    const r = BigInt(radices[i]!);
    digits[i] = Number(x % r);
    x /= r;
  }
}

function writeNumber(x: bigint, buf: Buffer, offset: number, width: number): void {
  buf.write(x.toString(16).padStart(2 * width, '0'), offset, width, 'hex');
}

/** `length` bytes of keyed BLAKE2b output over `tag`, a block counter and `message`. */
function keyedStream(tag: number, message: Buffer, length: number, secret: Buffer): Buffer {
  const out = Buffer.alloc(Math.ceil(length / 64) * 64);
  const input = Buffer.alloc(5 + message.length);
  input[0] = tag;
  message.copy(input, 5);
  for (let block = 0; block * 64 < length; block++) {
    input.writeUInt32BE(block, 1);
    sodium.crypto_generichash(out.subarray(64 * block, 64 * block + 64), input, secret);
  }
  return out;
}

/** The secret of a keyed strategy's column, or a clear error naming the rule. */
export function requireSecret(column: ColumnContext, strategy: string): Buffer {
  if (column.secret === undefined) {
    throw new PgcloakError(
      'KEY_MISSING',
      `${column.path}: strategy '${strategy}' needs a key, and the run has none`,
      { table: column.table, column: column.column },
    );
  }
  return column.secret;
}

/** Text types and arrays of them: what pseudonym and hash take. */
export function isTextOrTextArray(type: ResolvedType): boolean {
  return type.kind === 'text' || (type.kind === 'array' && type.element?.kind === 'text');
}

/** The mask for text, or element by element for arrays of text; undefined for other types. */
export function textOrTextArrayMask(type: ResolvedType, derive: (value: string) => string): ValueMask | undefined {
  if (type.kind === 'text') return { kind: 'value', derive };
  if (type.kind === 'array' && type.element?.kind === 'text') return { kind: 'value', derive: (value) => mapArrayLiteral(value, derive) };
  return undefined;
}

/** Checks a rule's `domain:` (pseudonym and hash): problems as messages. */
export function checkDomainParam(params: Readonly<Record<string, unknown>>): string[] {
  const domain = params['domain'];
  if (domain === undefined) return [];
  if (typeof domain !== 'string' || domain.length === 0 || Array.from(domain).length > MAX_DOMAIN_LENGTH) {
    return [`'domain' must be a non-empty string of at most ${MAX_DOMAIN_LENGTH} characters`];
  }
  return [];
}

export const DOMAIN_PARAMETER = {
  name: 'domain',
  description: 'a name: columns in different domains get unrelated results (default: one domain for all columns, so joins match)',
  required: false,
} as const;

export const pseudonymStrategy: StrategyDefinition = {
  name: 'pseudonym',
  description:
    'keyed format-preserving permutation: letters stay letters (case kept), digits stay digits, other characters stay, length kept; the same value gives the same pseudonym in every table of a run (in one `domain`), and in every run with the same persistent key',
  accepts: 'text types, arrays of them',
  parameters: [DOMAIN_PARAMETER],
  keyed: true,
  checkParams: checkDomainParam,
  // A permutation of each shape: one to one; the same in every column of one domain.
  distinctness: (type, params) => (isTextOrTextArray(type) ? { kind: 'value', fn: `pseudonym domain=${JSON.stringify(params['domain'] ?? null)}` } : undefined),
  prepare(column, params) {
    const secret = requireSecret(column, 'pseudonym');
    const domain = typeof params['domain'] === 'string' ? params['domain'] : undefined;
    const pseudonym = pseudonymizer(secret, { domain, version: column.pseudonymVersion });
    const mask = textOrTextArrayMask(column.type, pseudonym);
    if (mask) return mask;
    throw new PgcloakError('RULES_SCHEMA', `${column.path}: strategy 'pseudonym' does not fit type ${column.type.display} (it takes text types and arrays of them)`, {
      table: column.table,
      column: column.column,
    });
  },
};
