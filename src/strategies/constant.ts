// `constant`: every non-NULL value becomes the given value, checked against the
// column's type at start-up so that the masked dump still restores.
import { isIP } from 'node:net';
import { PgcloakError } from '../errors.js';
import type { ResolvedType } from '../schema/types.js';
import { textLength } from './text-fit.js';
import type { StrategyDefinition } from './strategy.js';

const INTEGER_RANGES: Record<string, readonly [bigint, bigint]> = {
  int2: [-32768n, 32767n],
  smallint: [-32768n, 32767n],
  int4: [-2147483648n, 2147483647n],
  integer: [-2147483648n, 2147483647n],
  int8: [-9223372036854775808n, 9223372036854775807n],
  bigint: [-9223372036854775808n, 9223372036854775807n],
  oid: [0n, 4294967295n],
};

const NUMERIC = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$|^\s*[+-]?(Infinity|inf)\s*$|^\s*NaN\s*$/i;
const FLOAT_SPECIAL = /^\s*[+-]?(NaN|Infinity|inf)\s*$/i; // float4in and float8in take a signed NaN too
const MONEY = /^\s*(-?)\$?([\d,]+)(?:\.(\d+))?\s*$/;
const MONEY_MAX_CENTS = 9223372036854775807n; // int8: money is a count of cents
const BOOLEAN = /^\s*(t|f|true|false|y|n|yes|no|on|off|1|0)\s*$/i;
const DATE_PART = String.raw`(\d{4})-(\d{2})-(\d{2})`;
const TIME_PART = String.raw`(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?`;
const ZONE_PART = String.raw`(?:[+-](\d{2})(?::?(\d{2}))?|Z)`;
const DATE = new RegExp(`^${DATE_PART}$`);
const TIMESTAMP = new RegExp(`^${DATE_PART}[ T]${TIME_PART}$`);
const TIMESTAMPTZ = new RegExp(`^${DATE_PART}[ T]${TIME_PART}${ZONE_PART}?$`);
const TIME = new RegExp(`^${TIME_PART}$`);
const TIMETZ = new RegExp(`^${TIME_PART}(?:[+-](\\d{2})(?::?(\\d{2}))?)?$`);
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
// The forms macaddr_in reads (https://www.postgresql.org/docs/current/datatype-net-types.html).
const MACADDR = /^(?:[0-9a-f]{2}(?::[0-9a-f]{2}){5}|[0-9a-f]{2}(?:-[0-9a-f]{2}){5}|[0-9a-f]{6}[:-][0-9a-f]{6}|[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}|[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}|[0-9a-f]{12})$/i;
// macaddr8_in: 6 or 8 bytes, each pair of hex digits optionally followed by a separator, the same one throughout.
const MACADDR8 = /^[0-9a-f]{2}(?:[:.-]?[0-9a-f]{2}){5}(?:(?:[:.-]?[0-9a-f]{2}){2})?$/i;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** A day of the proleptic Gregorian calendar that PostgreSQL takes (year, month, day from match[1]): no year 0, no 30 February. */
function validDate(match: RegExpExecArray): boolean {
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return year >= 1 && days !== undefined && day >= 1 && day <= days;
}

/** A time of day from `match[at]` on (hour, minute, second, fraction): 00:00 to 24:00:00, a leap second :60 included. */
function validTime(match: RegExpExecArray, at: number): boolean {
  const [hour, minute, second, fraction] = [Number(match[at]), Number(match[at + 1]), Number(match[at + 2] ?? 0), Number(match[at + 3] ?? 0)];
  if (minute > 59 || second > 60 || (second === 60 && fraction > 0)) return false;
  return hour < 24 || (hour === 24 && minute === 0 && second === 0 && fraction === 0);
}

/** A UTC offset from `match[at]` on (hours, minutes), within PostgreSQL's ±15:59. */
function validZone(match: RegExpExecArray, at: number): boolean {
  return Number(match[at] ?? 0) <= 15 && Number(match[at + 1] ?? 0) <= 59;
}

/**
 * Why `value` is not a `type` literal of the form `pattern`: `what` when it has another form, out
 * of range when a field is (30 February, 25:00, +16:00, as PostgreSQL says). `groups`: where the
 * pattern captures the date, the time and the zone fields.
 */
function dateTimeProblem(type: ResolvedType, value: string, pattern: RegExp, groups: { date?: number; time?: number; zone?: number }, what: string): string | undefined {
  const match = pattern.exec(value);
  if (!match) return what;
  const valid =
    (groups.date === undefined || validDate(match)) &&
    (groups.time === undefined || validTime(match, groups.time)) &&
    (groups.zone === undefined || validZone(match, groups.zone));
  return valid ? undefined : `is out of range for ${type.display}`;
}

/** float4in and float8in refuse what overflows to infinity or underflows to zero. */
function floatProblem(type: ResolvedType, value: string): string | undefined {
  if (FLOAT_SPECIAL.test(value)) return undefined;
  if (!NUMERIC.test(value)) return 'is not a number';
  const x = Number(value.trim());
  const stored = type.base === 'float4' || type.base === 'real' ? Math.fround(x) : x;
  const nonZero = /[1-9]/.test(value.replace(/[eE].*$/, ''));
  return Number.isFinite(stored) && (stored !== 0 || !nonZero) ? undefined : `is out of range for ${type.display}`;
}

/** money_in: no exponent, NaN or infinity; cents (the third decimal rounds) within an int8. */
function moneyProblem(value: string): string | undefined {
  const match = MONEY.exec(value);
  if (!match) return 'is not a number';
  const fraction = match[3] ?? '';
  const cents = BigInt(match[2]!.replaceAll(',', '') || '0') * 100n + BigInt(fraction.padEnd(2, '0').slice(0, 2)) + (fraction.charAt(2) >= '5' ? 1n : 0n);
  return cents <= MONEY_MAX_CENTS + (match[1] === '-' ? 1n : 0n) ? undefined : 'is out of range for money';
}

/** The bytes of an address isIP took (IPv6 `::` expanded, a dotted IPv4 tail read). */
function addressBytes(address: string, family: number): number[] {
  if (family === 4) return address.split('.').map(Number);
  let text = address;
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const b = v4.slice(1).map(Number);
    text = `${text.slice(0, v4.index)}${((b[0]! << 8) | b[1]!).toString(16)}:${((b[2]! << 8) | b[3]!).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const before = head === '' ? [] : head.split(':');
  const after = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? before : [...before, ...Array<string>(8 - before.length - after.length).fill('0'), ...after];
  return groups.flatMap((g) => [parseInt(g, 16) >> 8, parseInt(g, 16) & 0xff]);
}

/** inet_in and cidr_in: an address (no zone), a prefix length its family allows, and for cidr no bits right of it. */
function networkProblem(value: string, cidr: boolean): string | undefined {
  const slash = value.indexOf('/');
  const address = slash === -1 ? value : value.slice(0, slash);
  const family = address.includes('%') ? 0 : isIP(address);
  if (family === 0) return cidr ? 'is not a network address' : 'is not an IP address';
  if (slash === -1) return undefined;
  const prefix = value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefix) || Number(prefix) > (family === 4 ? 32 : 128)) return 'has an invalid prefix length';
  if (!cidr) return undefined;
  const bits = Number(prefix);
  const hostBits = addressBytes(address, family).some((b, i) => (b & (0xff >> Math.max(0, Math.min(8, bits - 8 * i)))) !== 0);
  return hostBits ? 'has bits set to the right of its prefix' : undefined;
}

/** jsonb_in refuses \u0000 and unpaired surrogates in its strings (json_in keeps the text as it is). */
function jsonbStringsValid(v: unknown): boolean {
  if (typeof v === 'string') return !v.includes('\0') && !LONE_SURROGATE.test(v);
  if (Array.isArray(v)) return v.every(jsonbStringsValid);
  if (v !== null && typeof v === 'object') return Object.entries(v).every(([k, x]) => jsonbStringsValid(k) && jsonbStringsValid(x));
  return true;
}

/** Why `value` is not a valid literal of `type`, or undefined when it is (or cannot be checked). */
export function constantProblem(type: ResolvedType, value: string): string | undefined {
  // No type's text form can hold a NUL: COPY would refuse the row.
  if (value.includes('\0')) return 'contains a NUL character';
  switch (type.kind) {
    case 'text':
      if (type.maxLength !== undefined && textLength(value) > type.maxLength) {
        return `is longer than ${type.display} allows`;
      }
      return undefined;
    case 'integer': {
      if (!/^\s*[+-]?\d+\s*$/.test(value)) return `is not an integer`;
      const range = INTEGER_RANGES[type.base];
      const n = BigInt(value.trim());
      if (range && (n < range[0] || n > range[1])) return `is out of range for ${type.display}`;
      return undefined;
    }
    case 'numeric':
      if (type.base === 'money') return moneyProblem(value);
      if (type.base === 'float4' || type.base === 'float8' || type.base === 'real') return floatProblem(type, value);
      return NUMERIC.test(value) ? undefined : 'is not a number';
    case 'boolean':
      return BOOLEAN.test(value) ? undefined : 'is not a boolean';
    case 'date':
      return dateTimeProblem(type, value, DATE, { date: 1 }, 'is not a date (YYYY-MM-DD)');
    case 'timestamp':
      return dateTimeProblem(type, value, TIMESTAMP, { date: 1, time: 4 }, 'is not a timestamp (YYYY-MM-DD HH:MM:SS)');
    case 'timestamptz':
      return dateTimeProblem(type, value, TIMESTAMPTZ, { date: 1, time: 4, zone: 8 }, 'is not a timestamp with time zone');
    case 'time':
      return dateTimeProblem(type, value, TIME, { time: 1 }, 'is not a time (HH:MM:SS)');
    case 'timetz':
      return dateTimeProblem(type, value, TIMETZ, { time: 1, zone: 5 }, 'is not a time with time zone');
    case 'uuid':
      return UUID.test(value) ? undefined : 'is not a uuid';
    case 'inet':
      return networkProblem(value, false);
    case 'cidr':
      return networkProblem(value, true);
    case 'macaddr':
      return MACADDR.test(value) ? undefined : 'is not a MAC address';
    case 'macaddr8':
      return MACADDR8.test(value) && new Set(value.match(/[:.-]/g)).size <= 1 ? undefined : 'is not an EUI-64 MAC address';
    case 'json':
    case 'jsonb': {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        return 'is not valid JSON';
      }
      return type.kind === 'jsonb' && !jsonbStringsValid(parsed) ? 'has a \\u0000 or an unpaired surrogate, which jsonb cannot hold' : undefined;
    }
    case 'enum':
      return type.labels?.includes(value) ? undefined : `is not a label of ${type.display}`;
    default:
      return undefined;
  }
}

/** Kinds whose constants we cannot check: accepted with a warning. */
function uncheckable(type: ResolvedType): boolean {
  return type.kind === 'unsupported' || type.kind === 'array' || type.kind === 'interval' || type.kind === 'bytea';
}

export const constantStrategy: StrategyDefinition = {
  name: 'constant',
  description: 'replace every non-NULL value with a fixed value, checked against the column type',
  accepts: 'any type (the value is checked for text limits, numbers, booleans, dates, times, uuid, inet, json, enums)',
  parameters: [{ name: 'value', description: 'the replacement, as PostgreSQL would read it in text form', required: true }],
  checkParams(params) {
    const v = params['value'];
    if (v === undefined) return ["needs a 'value'"];
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') return ["'value' must be a string, number or boolean"];
    return [];
  },
  distinctness(type, params) {
    const value = String(params['value']);
    return constantProblem(type, value) === undefined ? { kind: 'same', value, what: JSON.stringify(value) } : undefined;
  },
  prepare(column, params) {
    const value = String(params['value']);
    const problem = constantProblem(column.type, value);
    if (problem !== undefined) {
      throw new PgcloakError('RULES_SCHEMA', `${column.path}: constant ${problem} (column type ${column.type.display})`, {
        table: column.table,
        column: column.column,
      });
    }
    if (uncheckable(column.type)) column.warn(`${column.path}: constant not checked against type ${column.type.display}`);
    return { kind: 'constant', value };
  },
};
