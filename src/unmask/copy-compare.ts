// Comparing two COPY text fields of one column as values, without a database: for
// `unmask --by-key`, which must tell whether a dump of the migrated database still holds
// what masking wrote. pgcloak wrote placeholders in its own text form ('0', 'false',
// '2011-11-11 11:11:11+00'); after a restore and a new pg_dump, PostgreSQL prints them in
// its canonical form ('0.00' in a numeric(12,2), 'f', the server's time zone). Two texts
// count as the same value when they are equal after the normalisation of the column's type
// below. Anything not recognised compares as text: at worst a value still masked is
// reported as changed since masking and left alone, never the other way round.
// https://www.postgresql.org/docs/current/datatype.html

import { decodeCopyField } from '../copy/text-field.js';
import type { ResolvedType } from '../schema/types.js';

export type ValueComparer = (a: Buffer, b: Buffer) => boolean;

function isNullField(b: Buffer): boolean {
  return b.length === 2 && b[0] === 0x5c && b[1] === 0x4e;
}

/** A comparer for fields of a column of this type (undefined: compare bytes only). */
export function valueComparer(type: ResolvedType | undefined): ValueComparer {
  const normalise = type ? normaliser(type) : undefined;
  return (a, b) => {
    if (a.equals(b)) return true;
    if (normalise === undefined || isNullField(a) || isNullField(b)) return false;
    let x: string | null;
    let y: string | null;
    try {
      x = decodeCopyField(a, 0, a.length);
      y = decodeCopyField(b, 0, b.length);
    } catch {
      return false;
    }
    if (x === null || y === null) return false;
    if (x === y) return true;
    const nx = normalise(x);
    return nx !== undefined && nx === normalise(y);
  };
}

type Normaliser = (text: string) => string | undefined;

function normaliser(type: ResolvedType): Normaliser | undefined {
  switch (type.kind) {
    case 'text':
      // char(n) pads with spaces; they are not significant.
      return type.base === 'bpchar' ? (s) => s.replace(/ +$/, '') : undefined;
    case 'boolean':
      return booleanText;
    case 'integer':
      return decimalText;
    case 'numeric':
      if (type.base === 'money') return moneyText;
      if (type.base === 'float4' || type.base === 'float8' || type.base === 'real') return floatText;
      return decimalText;
    case 'interval':
      return intervalText;
    case 'bytea':
      return byteaText;
    case 'timestamptz':
      return timestamptzText;
    case 'uuid':
    case 'macaddr':
    case 'macaddr8':
      return (s) => s.toLowerCase().replace(/[-:.]/g, '');
    case 'jsonb':
      return jsonbText;
    default:
      return undefined;
  }
}

const TRUE = new Set(['t', 'true', 'y', 'yes', 'on', '1']);
const FALSE = new Set(['f', 'false', 'n', 'no', 'off', '0']);

function booleanText(s: string): string | undefined {
  const v = s.trim().toLowerCase();
  if (TRUE.has(v)) return 't';
  if (FALSE.has(v)) return 'f';
  return undefined;
}

/** 012.500 → 12.5, -0 → 0, +7 → 7. */
function decimalText(s: string): string | undefined {
  const m = /^\s*([+-])?(\d*)(?:\.(\d*))?\s*$/.exec(s);
  if (!m || (m[2] === '' && (m[3] ?? '') === '')) return s.trim().toLowerCase(); // NaN, Infinity
  const int = (m[2] ?? '').replace(/^0+/, '') || '0';
  const frac = (m[3] ?? '').replace(/0+$/, '');
  const digits = frac === '' ? int : `${int}.${frac}`;
  return m[1] === '-' && digits !== '0' ? `-${digits}` : digits;
}

function floatText(s: string): string | undefined {
  const t = s.trim();
  const n = Number(t);
  return Number.isNaN(n) ? t.toLowerCase() : String(n === 0 ? 0 : n);
}

/** '$1,234.50' → 1234.5; the currency symbol and grouping depend on lc_monetary. */
function moneyText(s: string): string | undefined {
  const negative = /^\s*-|\(.*\)|-\s*$/.test(s);
  const body = s.replace(/[^0-9.]/g, '');
  if (body === '') return undefined;
  const d = decimalText(body);
  return negative && d !== '0' ? `-${d}` : d;
}

/** Only a zero interval is recognised in any form: '0', '00:00:00', '0 days'. */
function intervalText(s: string): string | undefined {
  return /^[\s0:.+-]*(?:(?:years?|mons?|months?|days?|hours?|mins?|minutes?|secs?|seconds?|@|ago)[\s0:.+-]*)*$/i.test(s) && /0/.test(s) ? '0' : undefined;
}

/** '' and '\x' are the same empty bytea; hex digits in either case. */
function byteaText(s: string): string | undefined {
  if (s === '' || s === '\\x') return '';
  if (s.startsWith('\\x')) return s.slice(2).toLowerCase();
  return undefined;
}

const TIMESTAMPTZ = /^(\d{4,})-(\d\d)-(\d\d)[ T](\d\d):(\d\d):(\d\d)(\.\d+)?(?:([+-])(\d\d)(?::?(\d\d))?(?::?(\d\d))?)?( BC)?$/;

/** The instant, in microseconds since 1970 (time zones differ between servers). */
function timestamptzText(s: string): string | undefined {
  const m = TIMESTAMPTZ.exec(s.trim());
  if (!m || m[12] !== undefined) return undefined;
  const ms = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  const micros = Math.round(Number(`0${m[7] ?? ''}`) * 1e6);
  const sign = m[8] === '-' ? -1 : 1;
  const offsetSeconds = m[8] === undefined ? 0 : sign * (Number(m[9]) * 3600 + Number(m[10] ?? 0) * 60 + Number(m[11] ?? 0));
  return String((ms / 1000 - offsetSeconds) * 1e6 + micros);
}

/** jsonb prints objects with its own key order and spacing: compare the parsed structure. */
function jsonbText(s: string): string | undefined {
  try {
    return canonicalJson(JSON.parse(s) as unknown);
  } catch {
    return undefined;
  }
}

function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonicalJson(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}
