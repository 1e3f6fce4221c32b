// One field of COPY BINARY data (int32 length, -1 for NULL, then the type's send form)
// read as the text PostgreSQL's output function would give, and a text form written back
// as the type's binary form. The masker's strategies and row keys work on text, so binary
// input is masked through the same strategies as text input.
// Each type follows its send/recv function in PostgreSQL's source (int.c, int8.c, float.c,
// numeric.c, bool.c, varlena.c, date.c, timestamp.c, uuid.c, network.c, mac.c, mac8.c,
// jsonb.c, arrayfuncs.c, cash.c, enum.c, char.c); text output is what a session with
// DateStyle ISO, IntervalStyle postgres, TimeZone UTC, extra_float_digits 1 and lc_monetary
// C gives. https://www.postgresql.org/docs/current/sql-copy.html#SQL-COPY-BINARY-FORMAT
//
// Where encode(text) can differ from what the server would make of the same text (only
// row keys compared as text could notice): the server applies the column's typmod on
// load (numeric(p,s) rounds, char(n) pads) and normalises jsonb, which encode leaves to
// it; timestamptz/timetz text without an offset is read as UTC, not the session TimeZone;
// float4 text is rounded to double, then to float (the server rounds once); money follows
// lc_monetary C. Not read as input: PostgreSQL 16's underscores and 0x/0o/0b integer
// literals, month names and other DateStyles, 'now'/'today', hex IPv4 forms.

import { PgcloakError } from '../errors.js';
import type { ResolvedType } from '../schema/types.js';
import type { TextEncoding } from './text-field.js';
import { readNumeric, writeNumeric } from './binary-numeric.js';
import { readDate, readInterval, readTime, readTimestamp, readTimetz, writeDate, writeInterval, writeTime, writeTimestamp } from './binary-datetime.js';
import { readInet, readMacaddr, writeInet, writeMacaddr, writeMacaddr8 } from './binary-network.js';
import { quoteArrayElement, readArrayLiteral } from './array-literal.js';
import { BYTE } from '../io/byte-codes.js';

const { BACKSLASH } = BYTE;

export interface BinaryFieldCodec {
  /** The field `buf[start, end)` (its length prefix included) is NULL. */
  isNull(buf: Buffer, start: number, end: number): boolean;
  /** The field's value in PostgreSQL's text output form; throws COPY_VALUE on malformed bytes. */
  decode(buf: Buffer, start: number, end: number): string | null;
  /** The field bytes (length prefix included) for a value in text form; throws COPY_VALUE when the type cannot read it. */
  encode(value: string | null): Buffer;
  /**
   * Like encode, but an array takes its element type OID from the original field
   * `buf[start, end)` when that is a non-NULL array (see binaryFieldCodec).
   */
  encodeLike(value: string | null, buf: Buffer, start: number, end: number): Buffer;
}

/** The data of one non-NULL value, without the length prefix. */
interface ValueCodec {
  read(buf: Buffer, start: number, end: number): string;
  write(text: string): Buffer;
  /** The type's OID where it is the same in every database; 0 otherwise (enums, extension types). */
  readonly oid: number;
}

const NULL_LENGTH = -1;
const NULL_FIELD = Buffer.from([0xff, 0xff, 0xff, 0xff]);

/** OIDs of the built-in types (pg_type.dat); fixed in every PostgreSQL database. */
const BUILTIN_OIDS: ReadonlyMap<string, number> = new Map([
  ['bool', 16],
  ['boolean', 16],
  ['bytea', 17],
  ['char', 18],
  ['name', 19],
  ['int8', 20],
  ['bigint', 20],
  ['int2', 21],
  ['smallint', 21],
  ['int4', 23],
  ['integer', 23],
  ['text', 25],
  ['oid', 26],
  ['json', 114],
  ['cidr', 650],
  ['float4', 700],
  ['real', 700],
  ['float8', 701],
  ['macaddr8', 774],
  ['money', 790],
  ['macaddr', 829],
  ['inet', 869],
  ['bpchar', 1042],
  ['varchar', 1043],
  ['date', 1082],
  ['time', 1083],
  ['timestamp', 1114],
  ['timestamptz', 1184],
  ['interval', 1186],
  ['timetz', 1266],
  ['numeric', 1700],
  ['decimal', 1700],
  ['uuid', 2950],
  ['jsonb', 3802],
]);

/**
 * The binary COPY codec for a column type. Throws TYPE_UNSUPPORTED here, at start-up,
 * for a type without a binary form we can read and write.
 *
 * Arrays: the binary form names its element type by OID, which a text literal does not
 * carry. `encode` writes the built-in OID of the element's underlying type, or 0 for enums
 * and extension types; PostgreSQL checks the OID only when both it and the column's
 * element type are built-in (array_recv), so that loads on every version that relaxes the
 * check (15 does), including arrays over domains. `encodeLike` copies the OID from the
 * original field instead, which is exact on any version; dimensions and lower bounds come
 * from the literal itself (`[0:1]={a,b}`).
 */
export function binaryFieldCodec(type: ResolvedType, encoding: TextEncoding): BinaryFieldCodec {
  const value = valueCodec(type, encoding);
  const array = type.kind === 'array' ? (value as ArrayCodec) : null;
  const prefixed = (data: Buffer): Buffer => {
    const out = Buffer.allocUnsafe(4 + data.length);
    out.writeInt32BE(data.length, 0);
    data.copy(out, 4);
    return out;
  };
  return {
    isNull: (buf, start, end) => end - start === 4 && buf.readInt32BE(start) === NULL_LENGTH,
    decode(buf, start, end) {
      if (end - start < 4) throw new PgcloakError('COPY_VALUE', 'binary COPY: field shorter than its length prefix');
      const length = buf.readInt32BE(start);
      if (length === NULL_LENGTH && end - start === 4) return null;
      if (length !== end - start - 4) throw new PgcloakError('COPY_VALUE', 'binary COPY: field length prefix does not match its bytes');
      return value.read(buf, start + 4, end);
    },
    encode: (text) => (text === null ? Buffer.from(NULL_FIELD) : prefixed(value.write(text))),
    encodeLike(text, buf, start, end) {
      if (text === null) return Buffer.from(NULL_FIELD);
      if (array !== null && end - start >= 16 && buf.readInt32BE(start) === end - start - 4) {
        return prefixed(array.writeWithOid(text, buf.readUInt32BE(start + 12)));
      }
      return prefixed(value.write(text));
    },
  };
}

function unsupported(type: ResolvedType): PgcloakError {
  return new PgcloakError('TYPE_UNSUPPORTED', `binary COPY: no binary form for type ${type.display}`);
}

function invalidValue(type: string): PgcloakError {
  return new PgcloakError('COPY_VALUE', `binary COPY: invalid ${type} value`);
}

function invalidInput(type: string): PgcloakError {
  return new PgcloakError('COPY_VALUE', `binary COPY: invalid input syntax or value out of range for type ${type}`);
}

function valueCodec(type: ResolvedType, encoding: TextEncoding): ValueCodec {
  const oid = BUILTIN_OIDS.get(type.base) ?? 0;
  switch (type.kind) {
    case 'text':
      return type.base === 'char' ? charCodec(encoding) : textCodec(encoding, oid);
    case 'integer':
      switch (type.base) {
        case 'int2':
        case 'smallint':
          return integerCodec('smallint', 2, oid);
        case 'int4':
        case 'integer':
          return integerCodec('integer', 4, oid);
        case 'int8':
        case 'bigint':
          return integerCodec('bigint', 8, oid);
        case 'oid':
          return oidCodec;
      }
      break;
    case 'numeric':
      switch (type.base) {
        case 'numeric':
        case 'decimal':
          return { read: readNumeric, write: writeNumeric, oid };
        case 'float4':
        case 'real':
          return floatCodec(4, oid);
        case 'float8':
          return floatCodec(8, oid);
        case 'money':
          return moneyCodec;
      }
      break;
    case 'boolean':
      return boolCodec;
    case 'date':
      return { read: readDate, write: writeDate, oid };
    case 'timestamp':
      return { read: (b, s, e) => readTimestamp(b, s, e, false), write: (t) => writeTimestamp(t, false), oid };
    case 'timestamptz':
      return { read: (b, s, e) => readTimestamp(b, s, e, true), write: (t) => writeTimestamp(t, true), oid };
    case 'time':
      return { read: readTime, write: (t) => writeTime(t, false), oid };
    case 'timetz':
      return { read: readTimetz, write: (t) => writeTime(t, true), oid };
    case 'interval':
      return { read: readInterval, write: writeInterval, oid };
    case 'bytea':
      return byteaCodec(encoding);
    case 'json':
      return textCodec(encoding, oid);
    case 'jsonb':
      return jsonbCodec(encoding);
    case 'enum':
      return enumCodec(encoding);
    case 'uuid':
      return uuidCodec;
    case 'inet':
      return { read: (b, s, e) => readInet(b, s, e, false), write: (t) => writeInet(t, false), oid };
    case 'cidr':
      return { read: (b, s, e) => readInet(b, s, e, true), write: (t) => writeInet(t, true), oid };
    case 'macaddr':
      return { read: (b, s, e) => readMacaddr(b, s, e, 6), write: writeMacaddr, oid };
    case 'macaddr8':
      return { read: (b, s, e) => readMacaddr(b, s, e, 8), write: writeMacaddr8, oid };
    case 'array':
      if (type.element !== undefined && type.element.kind !== 'array') return new ArrayCodec(valueCodec(type.element, encoding));
      break;
    case 'unsupported':
      break;
  }
  throw unsupported(type);
}

// --- text, json, jsonb, enum, "char" ---

// fatal: invalid UTF-8 is an error, never U+FFFD; ignoreBOM: a leading U+FEFF is data.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function readText(buf: Buffer, start: number, end: number, encoding: TextEncoding): string {
  if (encoding === 'latin1') return buf.toString('latin1', start, end);
  try {
    return utf8.decode(buf.subarray(start, end));
  } catch {
    throw new PgcloakError('COPY_VALUE', 'invalid UTF-8 in binary COPY field');
  }
}

function textCodec(encoding: TextEncoding, oid: number): ValueCodec {
  return {
    read: (buf, start, end) => readText(buf, start, end, encoding),
    write: (text) => Buffer.from(text, encoding),
    oid,
  };
}

const JSONB_VERSION = 1;

function jsonbCodec(encoding: TextEncoding): ValueCodec {
  return {
    read(buf, start, end) {
      if (end - start < 1 || buf[start] !== JSONB_VERSION) throw new PgcloakError('COPY_VALUE', 'binary COPY: unsupported jsonb version number');
      return readText(buf, start + 1, end, encoding);
    },
    write(text) {
      const body = Buffer.from(text, encoding);
      const out = Buffer.allocUnsafe(1 + body.length);
      out[0] = JSONB_VERSION;
      body.copy(out, 1);
      return out;
    },
    oid: 3802,
  };
}

/**
 * An enum is its label as text (enum_send). Labels are not checked here: enum_recv does,
 * and the constant strategy checks its value against the dump's labels at start-up.
 */
function enumCodec(encoding: TextEncoding): ValueCodec {
  return textCodec(encoding, 0);
}

/** "char": one byte; charout writes bytes with the high bit set as \ooo, and 0 as ''. */
function charCodec(encoding: TextEncoding): ValueCodec {
  return {
    read(buf, start, end) {
      if (end - start !== 1) throw invalidValue('"char"');
      const c = buf[start]!;
      if (c >= 0x80) return '\\' + c.toString(8).padStart(3, '0');
      return c === 0 ? '' : String.fromCharCode(c);
    },
    write(text) {
      // charin: \ooo is that byte, otherwise the first byte of the text ('' is 0).
      if (/^\\[0-3][0-7]{2}$/.test(text)) return Buffer.from([parseInt(text.slice(1), 8)]);
      return Buffer.from([Buffer.from(text, encoding)[0] ?? 0]);
    },
    oid: 18,
  };
}

// --- integers, oid, bool ---

const INTEGER_TEXT = /^\s*([+-]?\d+)\s*$/;

function integerCodec(name: string, size: 2 | 4 | 8, oid: number): ValueCodec {
  const max = (1n << BigInt(size * 8 - 1)) - 1n;
  const min = -max - 1n;
  return {
    read(buf, start, end) {
      if (end - start !== size) throw invalidValue(name);
      if (size === 2) return String(buf.readInt16BE(start));
      if (size === 4) return String(buf.readInt32BE(start));
      return String(buf.readBigInt64BE(start));
    },
    write(text) {
      const m = INTEGER_TEXT.exec(text);
      if (!m) throw invalidInput(name);
      const n = BigInt(m[1]!);
      if (n < min || n > max) throw invalidInput(name);
      const out = Buffer.allocUnsafe(size);
      if (size === 2) out.writeInt16BE(Number(n));
      else if (size === 4) out.writeInt32BE(Number(n));
      else out.writeBigInt64BE(n);
      return out;
    },
    oid,
  };
}

/** oid: unsigned 32 bits; oidin also takes negative numbers down to -2^31 and wraps them. */
const oidCodec: ValueCodec = {
  read(buf, start, end) {
    if (end - start !== 4) throw invalidValue('oid');
    return String(buf.readUInt32BE(start));
  },
  write(text) {
    const m = INTEGER_TEXT.exec(text);
    if (!m) throw invalidInput('oid');
    const n = Number(m[1]);
    if (!Number.isSafeInteger(n) || n < -0x80000000 || n > 0xffffffff) throw invalidInput('oid');
    const out = Buffer.allocUnsafe(4);
    out.writeUInt32BE(n >>> 0);
    return out;
  },
  oid: 26,
};

const BOOL_WORDS: ReadonlyArray<readonly [string, boolean, number]> = [
  // word, value, shortest accepted prefix (parse_bool_with_len)
  ['true', true, 1],
  ['false', false, 1],
  ['yes', true, 1],
  ['no', false, 1],
  ['on', true, 2],
  ['off', false, 2],
  ['1', true, 1],
  ['0', false, 1],
];

/** boolin: any case, surrounding whitespace, unique prefixes of true/false/yes/no/on/off, 1/0. */
export function parseBool(text: string): boolean | null {
  const t = text.trim().toLowerCase();
  if (t === '') return null;
  for (const [word, value, shortest] of BOOL_WORDS) {
    if (t.length >= shortest && word.startsWith(t)) return value;
  }
  return null;
}

const boolCodec: ValueCodec = {
  read(buf, start, end) {
    if (end - start !== 1) throw invalidValue('boolean');
    return buf[start] !== 0 ? 't' : 'f';
  },
  write(text) {
    const value = parseBool(text);
    if (value === null) throw invalidInput('boolean');
    return Buffer.from([value ? 1 : 0]);
  },
  oid: 16,
};

// --- float4, float8 ---

const FLOAT_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const FLOAT_SPECIAL = /^([+-]?)(inf|infinity|nan)$/i;

function floatCodec(size: 4 | 8, oid: number): ValueCodec {
  const name = size === 4 ? 'real' : 'double precision';
  return {
    read(buf, start, end) {
      if (end - start !== size) throw invalidValue(name);
      return floatText(size === 4 ? buf.readFloatBE(start) : buf.readDoubleBE(start), size);
    },
    write(text) {
      const t = text.trim();
      let x: number;
      const special = FLOAT_SPECIAL.exec(t);
      if (special) {
        const word = special[2]!.toLowerCase();
        x = word === 'nan' ? NaN : special[1] === '-' ? -Infinity : Infinity;
      } else {
        if (!FLOAT_TEXT.test(t)) throw invalidInput(name);
        x = Number(t);
        if (size === 4) x = Math.fround(x);
        // Out of range either way is an error, as float4in/float8in say.
        const nonzero = /[1-9]/.test(t.replace(/[eE].*$/, ''));
        if (!Number.isFinite(x) || (x === 0 && nonzero)) throw invalidInput(name);
      }
      const out = Buffer.allocUnsafe(size);
      if (size === 4) out.writeFloatBE(x);
      else out.writeDoubleBE(x);
      return out;
    },
    oid,
  };
}

/**
 * float4out/float8out with extra_float_digits > 0 (the default since PostgreSQL 12): the
 * shortest digits that read back as the same value (Ryu there, V8's shortest form here —
 * the same digits), written fixed-point when the decimal exponent is in [-4, 6) for float4
 * or [-4, 15) for float8, else as d.ddde±XX.
 */
function floatText(x: number, size: 4 | 8): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  let exp: string;
  if (size === 8) exp = x.toExponential();
  else {
    exp = '';
    for (let p = 1; p <= 9; p++) {
      exp = x.toExponential(p - 1);
      if (Math.fround(Number(exp)) === x) break;
    }
  }
  const m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(exp)!;
  const sign = m[1]!;
  const digits = m[2]! + (m[3] ?? '');
  const e = Number(m[4]);
  if (e < -4 || e >= (size === 4 ? 6 : 15)) {
    const mantissa = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${mantissa}e${e < 0 ? '-' : '+'}${String(Math.abs(e)).padStart(2, '0')}`;
  }
  if (e < 0) return `${sign}0.${'0'.repeat(-e - 1)}${digits}`;
  if (digits.length <= e + 1) return sign + digits + '0'.repeat(e + 1 - digits.length);
  return `${sign}${digits.slice(0, e + 1)}.${digits.slice(e + 1)}`;
}

// --- money ---

/**
 * money: int64 in cents. Text as cash_out writes it with lc_monetary C or en_US: '$',
 * ',' every three digits, '.', two decimals, a leading '-' ('-$1,234.50'). Other
 * lc_monetary settings show other symbols; only row keys would see the difference.
 */
const moneyCodec: ValueCodec = {
  read(buf, start, end) {
    if (end - start !== 8) throw invalidValue('money');
    const cents = buf.readBigInt64BE(start);
    const abs = cents < 0n ? -cents : cents;
    const digits = abs.toString().padStart(3, '0');
    const units = digits.slice(0, -2).replace(/\B(?=(\d{3})+$)/g, ',');
    return `${cents < 0n ? '-' : ''}$${units}.${digits.slice(-2)}`;
  },
  write: writeMoney,
  oid: 790,
};

const INT64_MIN = -(1n << 63n);

/** cash_in with lc_monetary C: [$][sign][$]digits[,digits][.cents], rounding at the third decimal. */
function writeMoney(text: string): Buffer {
  const s = text;
  let i = 0;
  const skipSpace = (): void => {
    while (i < s.length && /\s/.test(s[i]!)) i++;
  };
  const skipSymbol = (): void => {
    if (s[i] === '$') i++;
  };
  skipSpace();
  skipSymbol();
  skipSpace();
  let negative = false;
  if (s[i] === '-' || s[i] === '(') {
    negative = true;
    i++;
  } else if (s[i] === '+') i++;
  skipSpace();
  skipSymbol();
  skipSpace();
  // Built in the negative, as cash_in does, so that the most negative value fits.
  let value = 0n;
  let decimals = 0;
  let seenDot = false;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (c >= '0' && c <= '9' && (!seenDot || decimals < 2)) {
      value = value * 10n - BigInt(c.charCodeAt(0) - 0x30);
      if (value < INT64_MIN) throw invalidInput('money');
      if (seenDot) decimals++;
    } else if (c === '.' && !seenDot) seenDot = true;
    else if (c === ',') continue;
    else break;
  }
  if (i < s.length && s[i]! >= '5' && s[i]! <= '9') value -= 1n;
  for (; decimals < 2; decimals++) value *= 10n;
  if (value < INT64_MIN) throw invalidInput('money');
  while (i < s.length && s[i]! >= '0' && s[i]! <= '9') i++;
  for (; i < s.length; i++) {
    const c = s[i]!;
    if (/\s/.test(c) || c === ')' || c === '+' || c === '$') continue;
    if (c === '-') negative = true;
    else throw invalidInput('money');
  }
  if (!negative) {
    if (value === INT64_MIN) throw invalidInput('money');
    value = -value;
  }
  const out = Buffer.allocUnsafe(8);
  out.writeBigInt64BE(value);
  return out;
}

// --- bytea, uuid ---

function byteaCodec(encoding: TextEncoding): ValueCodec {
  return {
    read: (buf, start, end) => '\\x' + buf.toString('hex', start, end),
    write(text) {
      if (text.startsWith('\\x')) return hexBytes(text);
      // The escape format: \\ is a backslash, \ooo an octal byte, everything else as is.
      const raw = Buffer.from(text, encoding);
      const out = Buffer.allocUnsafe(raw.length);
      let n = 0;
      for (let i = 0; i < raw.length; i++) {
        const c = raw[i]!;
        if (c !== BACKSLASH) {
          out[n++] = c;
          continue;
        }
        if (raw[i + 1] === BACKSLASH) {
          out[n++] = BACKSLASH;
          i++;
        } else if (/^[0-3][0-7]{2}$/.test(raw.toString('latin1', i + 1, i + 4))) {
          out[n++] = parseInt(raw.toString('latin1', i + 1, i + 4), 8);
          i += 3;
        } else throw invalidInput('bytea');
      }
      return out.subarray(0, n);
    },
    oid: 17,
  };
}

/** byteain's hex format: pairs of hex digits after \\x, whitespace allowed between pairs. */
function hexBytes(text: string): Buffer {
  if (/^\\x(?:[0-9a-fA-F]{2})*$/.test(text)) return Buffer.from(text.slice(2), 'hex');
  const out = Buffer.allocUnsafe((text.length - 2) >> 1);
  let n = 0;
  for (let i = 2; i < text.length; ) {
    const c = text[i]!;
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    const byte = /^[0-9a-fA-F]{2}$/.test(text.slice(i, i + 2)) ? parseInt(text.slice(i, i + 2), 16) : -1;
    if (byte === -1) throw invalidInput('bytea');
    out[n++] = byte;
    i += 2;
  }
  return out.subarray(0, n);
}

const uuidCodec: ValueCodec = {
  read(buf, start, end) {
    if (end - start !== 16) throw invalidValue('uuid');
    const x = buf.toString('hex', start, end);
    return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
  },
  write(text) {
    // uuid_in: optional braces around 32 hex digits, a hyphen allowed after any group of four.
    let t = text;
    if (t.startsWith('{')) {
      if (!t.endsWith('}')) throw invalidInput('uuid');
      t = t.slice(1, -1);
    }
    if (!/^[0-9a-fA-F]{4}(?:-?[0-9a-fA-F]{4}){7}$/.test(t)) throw invalidInput('uuid');
    return Buffer.from(t.replaceAll('-', ''), 'hex');
  },
  oid: 2950,
};

// --- arrays ---

/** array_in's MAXDIM: the most dimensions an array has. */
const MAXDIM = 6;
const ARRAY_HEADER = 12; // int32 ndim, int32 has-nulls flag, uint32 element type OID

class ArrayCodec implements ValueCodec {
  readonly oid = 0;
  private readonly element: ValueCodec;

  constructor(element: ValueCodec) {
    this.element = element;
  }

  /** array_out: `{...}` nested per dimension, `[lb:ub]=` first when a lower bound is not 1. */
  read(buf: Buffer, start: number, end: number): string {
    if (end - start < ARRAY_HEADER) throw invalidValue('array');
    const ndim = buf.readInt32BE(start);
    const flags = buf.readInt32BE(start + 4);
    if (ndim < 0 || ndim > MAXDIM || (flags !== 0 && flags !== 1)) throw invalidValue('array');
    let p = start + ARRAY_HEADER;
    if (end - p < ndim * 8) throw invalidValue('array');
    const dims: number[] = [];
    const lowerBounds: number[] = [];
    let count = ndim === 0 ? 0 : 1;
    for (let d = 0; d < ndim; d++) {
      const dim = buf.readInt32BE(p);
      const lb = buf.readInt32BE(p + 4);
      if (dim < 0) throw invalidValue('array');
      dims.push(dim);
      lowerBounds.push(lb);
      count *= dim;
      p += 8;
    }
    if (count === 0) {
      if (p !== end) throw invalidValue('array');
      return '{}';
    }
    const items: string[] = [];
    for (let i = 0; i < count; i++) {
      if (end - p < 4) throw invalidValue('array');
      const length = buf.readInt32BE(p);
      p += 4;
      if (length === NULL_LENGTH) {
        items.push('NULL');
        continue;
      }
      if (length < 0 || end - p < length) throw invalidValue('array');
      items.push(quoteArrayElement(this.element.read(buf, p, p + length)));
      p += length;
    }
    if (p !== end) throw invalidValue('array');
    let prefix = '';
    if (lowerBounds.some((lb) => lb !== 1)) {
      prefix = dims.map((dim, d) => `[${lowerBounds[d]}:${lowerBounds[d]! + dim - 1}]`).join('') + '=';
    }
    let at = 0;
    const nest = (d: number): string => {
      const parts: string[] = [];
      for (let i = 0; i < dims[d]!; i++) parts.push(d === dims.length - 1 ? items[at++]! : nest(d + 1));
      return '{' + parts.join(',') + '}';
    };
    return prefix + nest(0);
  }

  write(text: string): Buffer {
    return this.writeWithOid(text, this.element.oid);
  }

  writeWithOid(text: string, elementOid: number): Buffer {
    const literal = readArrayLiteral(text);
    const values = literal.elements.map((e) => (e === null ? null : this.element.write(e)));
    const ndim = values.length === 0 ? 0 : literal.dims.length;
    let size = ARRAY_HEADER + ndim * 8;
    for (const v of values) size += 4 + (v === null ? 0 : v.length);
    const out = Buffer.allocUnsafe(size);
    out.writeInt32BE(ndim, 0);
    out.writeInt32BE(values.includes(null) ? 1 : 0, 4);
    out.writeUInt32BE(elementOid, 8);
    let p = ARRAY_HEADER;
    for (let d = 0; d < ndim; d++) {
      out.writeInt32BE(literal.dims[d]!, p);
      out.writeInt32BE(literal.lowerBounds[d]!, p + 4);
      p += 8;
    }
    for (const v of values) {
      if (v === null) {
        out.writeInt32BE(NULL_LENGTH, p);
        p += 4;
      } else {
        out.writeInt32BE(v.length, p);
        v.copy(out, p + 4);
        p += 4 + v.length;
      }
    }
    return out;
  }
}

