// Date and time types in binary COPY form and their text forms, as PostgreSQL writes
// them with DateStyle ISO, IntervalStyle postgres and TimeZone UTC (date.c, timestamp.c,
// datetime.c): date int32 days and timestamp[tz] int64 microseconds since 2000-01-01,
// time int64 microseconds since midnight (timetz adds int32 seconds *west* of UTC),
// interval int64 microseconds, int32 days, int32 months.
// https://www.postgresql.org/docs/current/datatype-datetime.html
//
// Text input accepts the ISO forms PostgreSQL writes, plus 'T' between date and time,
// zone offsets (Z, UTC, GMT, ±HH, ±HHMM, ±HH:MM, ±HH:MM:SS), AD/BC, infinity, -infinity
// and epoch; for interval the postgres style ('1 year 2 mons -3 days +04:05:06.5', with
// units in full or abbreviated, 'ago', '@') and ISO 8601 designators ('P1Y2M3DT4H5M6S').
// A timestamptz or timetz without an offset is read as UTC (the server would use its
// session TimeZone). Not accepted: month names, other DateStyles, 'now'/'today'.

import { PgcloakError } from '../errors.js';

const POSTGRES_EPOCH_JDATE = 2451545; // date2j(2000, 1, 1)
const DATE_END_JULIAN = 2147483494; // date2j(5874898, 1, 1): dates must be before
const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const INT64_MIN = -(1n << 63n);
const INT64_MAX = (1n << 63n) - 1n;
const USECS_PER_SEC = 1000000n;
const USECS_PER_DAY = 86400000000n;
const MIN_TIMESTAMP = -211813488000000000n; // 4714-11-24 00:00:00 BC
const END_TIMESTAMP = 9223371331200000000n; // 294277-01-01 00:00:00
const TZDISP_LIMIT = 16 * 3600; // timetz zones must be within ±16 hours
const MAX_TZDISP_HOUR = 15;

function invalidValue(type: string): PgcloakError {
  return new PgcloakError('COPY_VALUE', `binary COPY: invalid ${type} value`);
}

function invalidInput(type: string): PgcloakError {
  return new PgcloakError('COPY_VALUE', `binary COPY: invalid input syntax or value out of range for type ${type}`);
}

// --- calendar (PostgreSQL's date2j / j2date: proleptic Gregorian, year 0 is 1 BC) ---

function date2j(year: number, month: number, day: number): number {
  if (month > 2) {
    month += 1;
    year += 4800;
  } else {
    month += 13;
    year += 4799;
  }
  const century = Math.floor(year / 100);
  let julian = year * 365 - 32167;
  julian += Math.floor(year / 4) - century + Math.floor(century / 4);
  julian += Math.floor((7834 * month) / 256) + day;
  return julian;
}

function j2date(jd: number): [year: number, month: number, day: number] {
  let julian = jd + 32044;
  let quad = Math.floor(julian / 146097);
  const extra = (julian - quad * 146097) * 4 + 3;
  julian += 60 + quad * 3 + Math.floor(extra / 146097);
  quad = Math.floor(julian / 1461);
  julian -= quad * 1461;
  let y = Math.floor((julian * 4) / 1461);
  julian = (y !== 0 ? (julian + 305) % 365 : (julian + 306) % 366) + 123;
  y += quad * 4;
  quad = Math.floor((julian * 2141) / 65536);
  const day = julian - Math.floor((7834 * quad) / 256);
  const month = ((quad + 10) % 12) + 1;
  return [y - 4800, month, day];
}

function isLeap(year: number): boolean {
  return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
}

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  return month === 2 && isLeap(year) ? 29 : DAYS_IN_MONTH[month - 1]!;
}

function pad(n: number | bigint, width: number): string {
  return String(n).padStart(width, '0');
}

/** 'YYYY-MM-DD' with ' BC' after whatever follows it, as EncodeDateOnly / EncodeDateTime. */
function dateParts(jd: number): { text: string; bc: boolean } {
  const [year, month, day] = j2date(jd);
  const bc = year <= 0;
  return { text: `${pad(bc ? 1 - year : year, 4)}-${pad(month, 2)}-${pad(day, 2)}`, bc };
}

/** ':SS' and '.ffffff' without trailing zeros, as AppendSeconds. */
function secondsText(sec: bigint, fsec: bigint): string {
  let out = pad(sec, 2);
  if (fsec !== 0n) out += '.' + pad(fsec, 6).replace(/0+$/, '');
  return out;
}

function timeText(us: bigint): string {
  const hour = us / 3600000000n;
  const min = (us / 60000000n) % 60n;
  const sec = (us / USECS_PER_SEC) % 60n;
  return `${pad(hour, 2)}:${pad(min, 2)}:${secondsText(sec, us % USECS_PER_SEC)}`;
}

/** EncodeTimezone: `tz` in seconds west of UTC, shown as +HH[:MM[:SS]] east. */
function zoneText(tz: number): string {
  const abs = Math.abs(tz);
  const hour = Math.floor(abs / 3600);
  const min = Math.floor(abs / 60) % 60;
  const sec = abs % 60;
  let out = (tz <= 0 ? '+' : '-') + pad(hour, 2);
  if (sec !== 0) out += `:${pad(min, 2)}:${pad(sec, 2)}`;
  else if (min !== 0) out += `:${pad(min, 2)}`;
  return out;
}

// --- date ---

export function readDate(buf: Buffer, start: number, end: number): string {
  if (end - start !== 4) throw invalidValue('date');
  const days = buf.readInt32BE(start);
  if (days === INT32_MIN) return '-infinity';
  if (days === INT32_MAX) return 'infinity';
  const jd = days + POSTGRES_EPOCH_JDATE;
  if (jd < 0 || jd >= DATE_END_JULIAN) throw invalidValue('date');
  const { text, bc } = dateParts(jd);
  return bc ? text + ' BC' : text;
}

export function writeDate(text: string): Buffer {
  const out = Buffer.alloc(4);
  const parsed = parseDateTime(text, 'date');
  if (parsed === '-infinity') out.writeInt32BE(INT32_MIN);
  else if (parsed === 'infinity') out.writeInt32BE(INT32_MAX);
  else {
    const jd = date2j(parsed.year, parsed.month, parsed.day);
    if (jd < 0 || jd >= DATE_END_JULIAN) throw invalidInput('date');
    out.writeInt32BE(jd - POSTGRES_EPOCH_JDATE);
  }
  return out;
}

// --- timestamp, timestamptz ---

export function readTimestamp(buf: Buffer, start: number, end: number, withZone: boolean): string {
  const type = withZone ? 'timestamptz' : 'timestamp';
  if (end - start !== 8) throw invalidValue(type);
  const us = buf.readBigInt64BE(start);
  if (us === INT64_MIN) return '-infinity';
  if (us === INT64_MAX) return 'infinity';
  if (us < MIN_TIMESTAMP || us >= END_TIMESTAMP) throw invalidValue(type);
  let days = us / USECS_PER_DAY;
  let time = us % USECS_PER_DAY;
  if (time < 0n) {
    time += USECS_PER_DAY;
    days -= 1n;
  }
  const { text, bc } = dateParts(Number(days) + POSTGRES_EPOCH_JDATE);
  return `${text} ${timeText(time)}${withZone ? '+00' : ''}${bc ? ' BC' : ''}`;
}

export function writeTimestamp(text: string, withZone: boolean): Buffer {
  const type = withZone ? 'timestamptz' : 'timestamp';
  const out = Buffer.alloc(8);
  const parsed = parseDateTime(text, type);
  if (parsed === '-infinity') out.writeBigInt64BE(INT64_MIN);
  else if (parsed === 'infinity') out.writeBigInt64BE(INT64_MAX);
  else {
    const days = date2j(parsed.year, parsed.month, parsed.day) - POSTGRES_EPOCH_JDATE;
    let us = BigInt(days) * USECS_PER_DAY + parsed.time;
    // A zone in timestamp (without time zone) input is ignored, as PostgreSQL does.
    if (withZone) us -= BigInt(parsed.offset) * USECS_PER_SEC;
    if (us < MIN_TIMESTAMP || us >= END_TIMESTAMP) throw invalidInput(type);
    out.writeBigInt64BE(us);
  }
  return out;
}

// --- time, timetz ---

export function readTime(buf: Buffer, start: number, end: number): string {
  if (end - start !== 8) throw invalidValue('time');
  const us = buf.readBigInt64BE(start);
  if (us < 0n || us > USECS_PER_DAY) throw invalidValue('time');
  return timeText(us);
}

export function readTimetz(buf: Buffer, start: number, end: number): string {
  if (end - start !== 12) throw invalidValue('timetz');
  const us = buf.readBigInt64BE(start);
  const zone = buf.readInt32BE(start + 8);
  if (us < 0n || us > USECS_PER_DAY || zone < -TZDISP_LIMIT || zone > TZDISP_LIMIT) throw invalidValue('timetz');
  return timeText(us) + zoneText(zone);
}

export function writeTime(text: string, withZone: boolean): Buffer {
  const type = withZone ? 'timetz' : 'time';
  const m = /^\s*(.*?)\s*$/.exec(text)!;
  const parsed = parseClock(m[1]!, type, 0);
  if (parsed.next !== m[1]!.length) {
    // What follows the time may only be a zone (ignored for time, as PostgreSQL does).
    const zone = parseZone(m[1]!.slice(parsed.next).trimStart(), type);
    if (zone === null) throw invalidInput(type);
    parsed.offset = zone;
  }
  if (parsed.time > USECS_PER_DAY) throw invalidInput(type);
  const out = Buffer.alloc(withZone ? 12 : 8);
  out.writeBigInt64BE(parsed.time);
  if (withZone) out.writeInt32BE(-parsed.offset, 8);
  return out;
}

// --- text parsing shared by date, timestamp, time ---

interface Clock {
  /** Microseconds since midnight. */
  time: bigint;
  /** Seconds east of UTC. */
  offset: number;
  /** Index after the clock in the text. */
  next: number;
}

const CLOCK = /^(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d*))?)?/;

function parseClock(text: string, type: string, from: number): Clock {
  const m = CLOCK.exec(text.slice(from));
  if (!m) throw invalidInput(type);
  const hour = Number(m[1]);
  const min = Number(m[2]);
  const sec = m[3] === undefined ? 0 : Number(m[3]);
  const fsec = m[4] ? fractionMicros(m[4]) : 0;
  // 24:00:00 and a leap second :60 are accepted, as PostgreSQL does.
  if (hour > 24 || min > 59 || sec > 60) throw invalidInput(type);
  const time = BigInt(((hour * 60 + min) * 60 + sec) * 1000000 + fsec);
  if (hour === 24 && time !== USECS_PER_DAY) throw invalidInput(type);
  return { time, offset: 0, next: from + m[0].length };
}

/** rint(0.digits * 1e6), as ParseFractionalSecond does. */
function fractionMicros(digits: string): number {
  return roundHalfEven(Number('0.' + digits) * 1e6);
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const ZONE = /^(?:([zZ]|UTC|utc|GMT|gmt)|([+-])(\d{1,2})(?::?(\d{2})(?::?(\d{2}))?)?)$/;

/** Seconds east of UTC for a zone suffix, or null when `text` is not one. */
function parseZone(text: string, type: string): number | null {
  const m = ZONE.exec(text);
  if (!m) return null;
  if (m[1] !== undefined) return 0;
  const hour = Number(m[3]);
  const min = m[4] === undefined ? 0 : Number(m[4]);
  const sec = m[5] === undefined ? 0 : Number(m[5]);
  if (hour > MAX_TZDISP_HOUR || min > 59 || sec > 59) throw invalidInput(type);
  const offset = hour * 3600 + min * 60 + sec;
  return m[2] === '-' ? -offset : offset;
}

interface DateTime {
  /** Astronomical year: 0 is 1 BC. */
  year: number;
  month: number;
  day: number;
  time: bigint;
  offset: number;
}

const DATE_TIME =
  /^(\d{4,})-(\d{1,2})-(\d{1,2})(?:(?:[Tt]|\s+)(\d{1,2}:\d{2}(?::\d{2}(?:\.\d*)?)?))?(?:\s*([zZ]|UTC|utc|GMT|gmt|[+-]\d{1,2}(?::?\d{2}(?::?\d{2})?)?))?(?:\s+(AD|BC|ad|bc))?$/;

function parseDateTime(text: string, type: string): DateTime | 'infinity' | '-infinity' {
  const t = text.trim();
  const word = t.toLowerCase();
  if (word === 'infinity' || word === '+infinity') return 'infinity';
  if (word === '-infinity') return '-infinity';
  if (word === 'epoch') return { year: 1970, month: 1, day: 1, time: 0n, offset: 0 };
  const m = DATE_TIME.exec(t);
  if (!m) throw invalidInput(type);
  let year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  // There is no year 0 in AD/BC notation; internally 1 BC is year 0.
  if (year <= 0 || year > 5874897) throw invalidInput(type);
  if (m[6] !== undefined && m[6].toUpperCase() === 'BC') year = 1 - year;
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) throw invalidInput(type);
  const clock = m[4] === undefined ? { time: 0n } : parseClock(m[4], type, 0);
  const offset = m[5] === undefined ? 0 : parseZone(m[5], type)!;
  return { year, month, day, time: clock.time, offset };
}

// --- interval ---

export function readInterval(buf: Buffer, start: number, end: number): string {
  if (end - start !== 16) throw invalidValue('interval');
  const time = buf.readBigInt64BE(start);
  const days = buf.readInt32BE(start + 8);
  const months = buf.readInt32BE(start + 12);
  // PostgreSQL 17's infinite intervals.
  if (months === INT32_MAX && days === INT32_MAX && time === INT64_MAX) return 'infinity';
  if (months === INT32_MIN && days === INT32_MIN && time === INT64_MIN) return '-infinity';
  return intervalText(time, days, months);
}

/** EncodeInterval, IntervalStyle postgres. */
function intervalText(time: bigint, days: number, months: number): string {
  const year = Math.trunc(months / 12);
  const mon = months % 12;
  let out = '';
  let isBefore = false;
  let isZero = true;
  const part = (value: number, unit: string): void => {
    if (value === 0) return;
    out += `${isZero ? '' : ' '}${isBefore && value > 0 ? '+' : ''}${value} ${unit}${value !== 1 ? 's' : ''}`;
    isBefore = value < 0;
    isZero = false;
  };
  part(year, 'year');
  part(mon, 'mon');
  part(days, 'day');
  if (isZero || time !== 0n) {
    const minus = time < 0n;
    const abs = minus ? -time : time;
    const hour = abs / 3600000000n;
    const min = (abs / 60000000n) % 60n;
    const sec = (abs / USECS_PER_SEC) % 60n;
    out += `${isZero ? '' : ' '}${minus ? '-' : isBefore ? '+' : ''}${pad(hour, 2)}:${pad(min, 2)}:${secondsText(sec, abs % USECS_PER_SEC)}`;
  }
  return out;
}

interface IntervalFields {
  year: number;
  mon: number;
  mday: number;
  hour: number;
  min: number;
  sec: number;
  /** Microseconds, may exceed a second: added at the end. */
  fsec: number;
}

type UnitName = 'microsecond' | 'millisecond' | 'second' | 'minute' | 'hour' | 'day' | 'week' | 'month' | 'year' | 'decade' | 'century' | 'millennium';

const UNITS: ReadonlyMap<string, UnitName> = new Map<string, UnitName>(
  Object.entries({
    microsecond: ['us', 'usec', 'usecs', 'microsecond', 'microseconds', 'microsecon', 'useconds'],
    millisecond: ['ms', 'msec', 'msecs', 'millisecond', 'milliseconds', 'millisecon', 'mseconds'],
    second: ['s', 'sec', 'secs', 'second', 'seconds'],
    minute: ['m', 'min', 'mins', 'minute', 'minutes'],
    hour: ['h', 'hr', 'hrs', 'hour', 'hours'],
    day: ['d', 'day', 'days'],
    week: ['w', 'week', 'weeks'],
    month: ['mon', 'mons', 'month', 'months'],
    year: ['y', 'yr', 'yrs', 'year', 'years'],
    decade: ['dec', 'decs', 'decade', 'decades'],
    century: ['c', 'cent', 'century', 'centuries'],
    millennium: ['mil', 'mils', 'millennium', 'millennia'],
  }).flatMap(([unit, names]) => names.map((n) => [n, unit as UnitName] as const)),
);

/** Adds `value` of `unit` as DecodeInterval does: fractions spill into smaller fields. */
function addUnit(f: IntervalFields, unit: UnitName, value: number): void {
  const whole = Math.trunc(value);
  const frac = value - whole;
  switch (unit) {
    case 'microsecond':
      f.fsec += roundHalfEven(value);
      break;
    case 'millisecond':
      f.fsec += roundHalfEven(value * 1000);
      break;
    case 'second':
      f.sec += whole;
      f.fsec += roundHalfEven(frac * 1e6);
      break;
    case 'minute':
      f.min += whole;
      fractSeconds(f, frac, 60);
      break;
    case 'hour':
      f.hour += whole;
      fractSeconds(f, frac, 3600);
      break;
    case 'day':
      f.mday += whole;
      fractSeconds(f, frac, 86400);
      break;
    case 'week':
      f.mday += whole * 7;
      fractDays(f, frac, 7);
      break;
    case 'month':
      f.mon += whole;
      fractDays(f, frac, 30);
      break;
    case 'year':
      f.year += whole;
      f.mon += roundHalfEven(frac * 12);
      break;
    case 'decade':
      f.year += whole * 10;
      f.mon += roundHalfEven(frac * 120);
      break;
    case 'century':
      f.year += whole * 100;
      f.mon += roundHalfEven(frac * 1200);
      break;
    case 'millennium':
      f.year += whole * 1000;
      f.mon += roundHalfEven(frac * 12000);
      break;
  }
}

function fractSeconds(f: IntervalFields, frac: number, scale: number): void {
  if (frac === 0) return;
  const x = frac * scale;
  const sec = Math.trunc(x);
  f.sec += sec;
  f.fsec += roundHalfEven((x - sec) * 1e6);
}

function fractDays(f: IntervalFields, frac: number, scale: number): void {
  if (frac === 0) return;
  const x = frac * scale;
  const days = Math.trunc(x);
  f.mday += days;
  fractSeconds(f, x - days, 86400);
}

const NUMBER = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)$/;
const TIME_TOKEN = /^([+-]?)(\d+):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?$/;
const ISO_8601 = /^P(?:([+-]?[\d.]+)Y)?(?:([+-]?[\d.]+)M)?(?:([+-]?[\d.]+)W)?(?:([+-]?[\d.]+)D)?(?:T(?:([+-]?[\d.]+)H)?(?:([+-]?[\d.]+)M)?(?:([+-]?[\d.]+)S)?)?$/i;

export function writeInterval(text: string): Buffer {
  const t = text.trim();
  const lower = t.toLowerCase();
  const out = Buffer.alloc(16);
  if (lower === 'infinity' || lower === '+infinity' || lower === '-infinity') {
    const minus = lower === '-infinity';
    out.writeBigInt64BE(minus ? INT64_MIN : INT64_MAX, 0);
    out.writeInt32BE(minus ? INT32_MIN : INT32_MAX, 8);
    out.writeInt32BE(minus ? INT32_MIN : INT32_MAX, 12);
    return out;
  }
  const f: IntervalFields = { year: 0, mon: 0, mday: 0, hour: 0, min: 0, sec: 0, fsec: 0 };
  const iso = t.length > 1 ? ISO_8601.exec(t) : null;
  if (iso) readIso8601(iso, f);
  else readPostgresInterval(t, f);

  const months = f.year * 12 + f.mon;
  const time = ((BigInt(f.hour) * 60n + BigInt(f.min)) * 60n + BigInt(f.sec)) * USECS_PER_SEC + BigInt(f.fsec);
  if (months < INT32_MIN || months > INT32_MAX || f.mday < INT32_MIN || f.mday > INT32_MAX || time < INT64_MIN || time > INT64_MAX) {
    throw invalidInput('interval');
  }
  out.writeBigInt64BE(time, 0);
  out.writeInt32BE(f.mday, 8);
  out.writeInt32BE(months, 12);
  return out;
}

function readIso8601(m: RegExpExecArray, f: IntervalFields): void {
  const units: UnitName[] = ['year', 'month', 'week', 'day', 'hour', 'minute', 'second'];
  let any = false;
  units.forEach((unit, i) => {
    const v = m[i + 1];
    if (v === undefined) return;
    if (!NUMBER.test(v)) throw invalidInput('interval');
    addUnit(f, unit, Number(v));
    any = true;
  });
  if (!any) throw invalidInput('interval');
}

function readPostgresInterval(text: string, f: IntervalFields): void {
  // Numbers and units may be written together ("5min"); split them apart.
  const tokens = text
    .replace(/^@\s*/, '')
    .replace(/([\d.])([a-zA-Z])/g, '$1 $2')
    .replace(/([a-zA-Z])([\d+-])/g, '$1 $2')
    .split(/\s+/)
    .filter((s) => s !== '');
  if (tokens.length === 0) throw invalidInput('interval');
  let ago = false;
  if (tokens[tokens.length - 1]!.toLowerCase() === 'ago') {
    ago = true;
    tokens.pop();
  }
  const seen = new Set<string>();
  const once = (field: string): void => {
    if (seen.has(field)) throw invalidInput('interval');
    seen.add(field);
  };
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!;
    const time = TIME_TOKEN.exec(token);
    if (time) {
      once('time');
      const sign = time[1] === '-' ? -1 : 1;
      const min = Number(time[3]);
      const sec = time[4] === undefined ? 0 : Number(time[4]);
      if (min > 59 || sec > 59) throw invalidInput('interval');
      f.hour += sign * Number(time[2]);
      f.min += sign * min;
      f.sec += sign * sec;
      if (time[5]) f.fsec += sign * fractionMicros(time[5]);
      continue;
    }
    if (!NUMBER.test(token)) throw invalidInput('interval');
    const value = Number(token);
    const next = tokens[i + 1];
    const unit = next === undefined ? undefined : UNITS.get(next.toLowerCase());
    if (unit !== undefined) {
      once(unit);
      addUnit(f, unit, value);
      i++;
    } else if (next !== undefined && TIME_TOKEN.test(next)) {
      // "1 12:00:00": a bare number before a time is days.
      once('day');
      addUnit(f, 'day', value);
    } else if (next === undefined) {
      // A bare number at the end is seconds: interval '5' is 00:00:05.
      once('second');
      addUnit(f, 'second', value);
    } else throw invalidInput('interval');
  }
  if (ago) {
    f.year = -f.year;
    f.mon = -f.mon;
    f.mday = -f.mday;
    f.hour = -f.hour;
    f.min = -f.min;
    f.sec = -f.sec;
    f.fsec = -f.fsec;
  }
}
