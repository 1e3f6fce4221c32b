// numeric in binary COPY form (numeric_send / numeric_recv in PostgreSQL's numeric.c) and
// its text form (numeric_out / numeric_in): int16 ndigits, int16 weight, uint16 sign,
// uint16 dscale, then ndigits base-10000 digits, the first worth 10000^weight.
// https://www.postgresql.org/docs/current/datatype-numeric.html

import { PgcloakError } from '../errors.js';

const NBASE = 10000;
const DEC_DIGITS = 4;
const SIGN_POSITIVE = 0x0000;
const SIGN_NEGATIVE = 0x4000;
const SIGN_NAN = 0xc000;
const SIGN_PLUS_INFINITY = 0xd000; // PostgreSQL 14 and later
const SIGN_MINUS_INFINITY = 0xf000;
const DSCALE_MAX = 0x3fff;
// numeric_send reads an infinity's dscale from its short header (0xd000 & 0x1f80) >> 7:
// PostgreSQL writes 32, and numeric_recv ignores it.
const INFINITY_DSCALE = 32;
const MAX_EXPONENT = 1000; // NUMERIC_MAX_PRECISION: numeric_in refuses larger exponents
const HEADER = 8;

function invalid(): PgcloakError {
  return new PgcloakError('COPY_VALUE', 'binary COPY: invalid numeric value');
}

/** The text numeric_out gives for the binary value `buf[start, end)`. */
export function readNumeric(buf: Buffer, start: number, end: number): string {
  if (end - start < HEADER) throw invalid();
  const ndigits = buf.readInt16BE(start);
  const weight = buf.readInt16BE(start + 2);
  const sign = buf.readUInt16BE(start + 4);
  const dscale = buf.readUInt16BE(start + 6);
  if (ndigits < 0 || end - start !== HEADER + 2 * ndigits) throw invalid();
  switch (sign) {
    case SIGN_NAN:
      return 'NaN';
    case SIGN_PLUS_INFINITY:
      return 'Infinity';
    case SIGN_MINUS_INFINITY:
      return '-Infinity';
    case SIGN_POSITIVE:
    case SIGN_NEGATIVE:
      break;
    default:
      throw invalid();
  }
  if (dscale > DSCALE_MAX) throw invalid();
  const digits: number[] = [];
  for (let i = 0; i < ndigits; i++) {
    const d = buf.readUInt16BE(start + HEADER + 2 * i);
    if (d >= NBASE) throw invalid();
    digits.push(d);
  }
  return numericText(sign === SIGN_NEGATIVE, weight, dscale, digits);
}

/**
 * get_str_from_var: the integer part without leading zeros ('0' if none), then exactly
 * dscale fraction digits. Digits beyond dscale are cut, as numeric_recv does; a value that
 * is then zero has no minus sign.
 */
function numericText(negative: boolean, weight: number, dscale: number, digits: readonly number[]): string {
  let out = '';
  if (weight < 0) out = '0';
  else {
    for (let d = 0; d <= weight; d++) {
      const group = String(digits[d] ?? 0);
      out += out === '' ? group : group.padStart(DEC_DIGITS, '0');
    }
    out = out.replace(/^0+(?=\d)/, '');
  }
  if (dscale > 0) {
    let fraction = '';
    for (let d = weight + 1; fraction.length < dscale; d++) {
      fraction += d < 0 ? '0000' : String(digits[d] ?? 0).padStart(DEC_DIGITS, '0');
    }
    out += '.' + fraction.slice(0, dscale);
  }
  return negative && /[1-9]/.test(out) ? '-' + out : out;
}

const NUMERIC_TEXT = /^([+-]?)(?:(\d+)(?:\.(\d*))?|\.(\d+))(?:[eE]([+-]?\d+))?$/;
const SPECIAL = /^([+-]?)(nan|inf|infinity)$/i;

/** numeric_in's reading of `text` as the binary form numeric_send would give. */
export function writeNumeric(text: string): Buffer {
  const trimmed = text.trim();
  const special = SPECIAL.exec(trimmed);
  if (special) {
    const word = special[2]!.toLowerCase();
    if (word === 'nan') {
      if (special[1] !== '') throw invalidInput();
      return header(0, 0, SIGN_NAN, 0);
    }
    return header(0, 0, special[1] === '-' ? SIGN_MINUS_INFINITY : SIGN_PLUS_INFINITY, INFINITY_DSCALE);
  }
  const m = NUMERIC_TEXT.exec(trimmed);
  if (!m) throw invalidInput();
  const negative = m[1] === '-';
  const integer = m[2] ?? '';
  const fraction = m[3] ?? m[4] ?? '';
  const exponent = m[5] === undefined ? 0 : Number(m[5]);
  if (!Number.isSafeInteger(exponent) || Math.abs(exponent) > MAX_EXPONENT) throw invalidInput();
  const dscale = Math.max(0, fraction.length - exponent);
  if (dscale > DSCALE_MAX) throw invalidInput();

  // All decimal digits, and where the decimal point falls among them.
  let all = integer + fraction;
  let point = integer.length + exponent;
  const lead = all.search(/[1-9]/);
  if (lead === -1) return header(0, 0, SIGN_POSITIVE, dscale);
  all = all.slice(lead).replace(/0+$/, '');
  point -= lead;
  // Pad so that the point falls on a base-10000 digit boundary.
  const padLeft = (((DEC_DIGITS - (point % DEC_DIGITS)) % DEC_DIGITS) + DEC_DIGITS) % DEC_DIGITS;
  all = '0'.repeat(padLeft) + all;
  point += padLeft;
  all += '0'.repeat((DEC_DIGITS - (all.length % DEC_DIGITS)) % DEC_DIGITS);
  const weight = point / DEC_DIGITS - 1;
  const groups: number[] = [];
  for (let i = 0; i < all.length; i += DEC_DIGITS) groups.push(Number(all.slice(i, i + DEC_DIGITS)));
  while (groups.length > 0 && groups[groups.length - 1] === 0) groups.pop();
  if (weight > 0x7fff || weight < -0x8000 || groups.length > 0x7fff) throw invalidInput();
  const out = header(groups.length, weight, negative ? SIGN_NEGATIVE : SIGN_POSITIVE, dscale);
  for (let i = 0; i < groups.length; i++) out.writeUInt16BE(groups[i]!, HEADER + 2 * i);
  return out;
}

function header(ndigits: number, weight: number, sign: number, dscale: number): Buffer {
  const out = Buffer.alloc(HEADER + 2 * ndigits);
  out.writeInt16BE(ndigits, 0);
  out.writeInt16BE(weight, 2);
  out.writeUInt16BE(sign, 4);
  out.writeUInt16BE(dscale, 6);
  return out;
}

function invalidInput(): PgcloakError {
  return new PgcloakError('COPY_VALUE', 'binary COPY: invalid input syntax for type numeric');
}
