import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { binaryFieldCodec, type BinaryFieldCodec } from '../../src/copy/binary-values.js';
import { mapArrayLiteral } from '../../src/copy/array-literal.js';
import type { ResolvedType, TypeKind } from '../../src/schema/types.js';

function type(kind: TypeKind, base: string, extra: Partial<ResolvedType> = {}): ResolvedType {
  return { kind, base, display: base, notNull: false, ...extra };
}

function arrayOf(element: ResolvedType): ResolvedType {
  return { kind: 'array', base: element.base, display: `${element.display}[]`, notNull: false, element };
}

function codec(kind: TypeKind, base: string, extra: Partial<ResolvedType> = {}): BinaryFieldCodec {
  return binaryFieldCodec(type(kind, base, extra), 'utf8');
}

/** A length-prefixed field around value bytes. */
function field(data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeInt32BE(data.length);
  return Buffer.concat([length, data]);
}

function decode(c: BinaryFieldCodec, bytes: Buffer): string | null {
  return c.decode(bytes, 0, bytes.length);
}

/** encode(text) gives `bytes` back and decode(bytes) gives `text`. */
function expectRoundTrip(c: BinaryFieldCodec, bytes: Buffer, text: string): void {
  expect(decode(c, bytes)).toBe(text);
  expect(c.encode(text).toString('hex')).toBe(bytes.toString('hex'));
}

function be(size: number, write: (b: Buffer) => void): Buffer {
  const b = Buffer.alloc(size);
  write(b);
  return field(b);
}

const int2 = codec('integer', 'int2');
const int4 = codec('integer', 'int4');
const int8 = codec('integer', 'int8');
const numeric = codec('numeric', 'numeric');
const float4 = codec('numeric', 'float4');
const float8 = codec('numeric', 'float8');
const money = codec('numeric', 'money');
const date = codec('date', 'date');
const timestamp = codec('timestamp', 'timestamp');
const timestamptz = codec('timestamptz', 'timestamptz');
const time = codec('time', 'time');
const timetz = codec('timetz', 'timetz');
const interval = codec('interval', 'interval');
const text = codec('text', 'text');
const uuid = codec('uuid', 'uuid');
const bytea = codec('bytea', 'bytea');
const inet = codec('inet', 'inet');
const cidr = codec('cidr', 'cidr');

const EPOCH_2000 = Date.UTC(2000, 0, 1);
const MIN_TIMESTAMP = -211813488000000000n;
const END_TIMESTAMP = 9223371331200000000n;

describe('binary COPY field framing', () => {
  it('NULL is the 4 bytes ff ff ff ff, both ways', () => {
    expect(int4.encode(null).toString('hex')).toBe('ffffffff');
    expect(int4.isNull(Buffer.from('ffffffff', 'hex'), 0, 4)).toBe(true);
    expect(decode(int4, Buffer.from('ffffffff', 'hex'))).toBeNull();
    expect(text.isNull(Buffer.from('00000000', 'hex'), 0, 4)).toBe(false);
    expect(decode(text, Buffer.from('00000000', 'hex'))).toBe('');
  });

  it('decodes a field inside a larger buffer, at its offsets', () => {
    const buf = Buffer.concat([Buffer.from('zz'), int4.encode('42'), Buffer.from('zz')]);
    expect(int4.decode(buf, 2, 10)).toBe('42');
  });

  it('refuses a field whose length prefix does not match its range, or malformed values', () => {
    expect(() => int4.decode(Buffer.from('0000000500000001', 'hex'), 0, 8)).toThrow(/COPY_VALUE/);
    expect(() => int4.decode(Buffer.from('00000002abcd', 'hex'), 0, 6)).toThrow(/COPY_VALUE: binary COPY: invalid integer value/);
    expect(() => text.decode(Buffer.from('00000001ff', 'hex'), 0, 5)).toThrow(/COPY_VALUE: invalid UTF-8/);
  });

  it('refuses types without a binary form when the codec is created', () => {
    expect(() => binaryFieldCodec(type('unsupported', 'tsvector', { display: 'tsvector' }), 'utf8')).toThrow(
      /TYPE_UNSUPPORTED: binary COPY: no binary form for type tsvector/,
    );
    expect(() => codec('integer', 'xid')).toThrow(/TYPE_UNSUPPORTED/);
    expect(() => binaryFieldCodec(arrayOf(type('unsupported', 'point', { display: 'point' })), 'utf8')).toThrow(/TYPE_UNSUPPORTED/);
  });
});

describe('binary COPY integers, booleans, money', () => {
  it('round-trips every width', () => {
    fc.assert(
      fc.property(fc.integer({ min: -32768, max: 32767 }), (n) => expectRoundTrip(int2, be(2, (b) => b.writeInt16BE(n)), String(n))),
    );
    fc.assert(fc.property(fc.integer(), (n) => expectRoundTrip(int4, be(4, (b) => b.writeInt32BE(n)), String(n))));
    fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (n) => expectRoundTrip(int8, be(8, (b) => b.writeBigInt64BE(n)), String(n))));
    const oid = codec('integer', 'oid');
    fc.assert(fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => expectRoundTrip(oid, be(4, (b) => b.writeUInt32BE(n)), String(n))));
    expect(decode(oid, oid.encode('-1'))).toBe('4294967295');
  });

  it('reads integer literals with sign and surrounding spaces, and refuses the rest', () => {
    expect(decode(int4, int4.encode(' +17 '))).toBe('17');
    expect(decode(int2, int2.encode('-0'))).toBe('0');
    for (const bad of ['', '1.5', '32768', '1e3', 'x', '0x10']) expect(() => int2.encode(bad), bad).toThrow(/COPY_VALUE/);
    expect(() => int8.encode('9223372036854775808')).toThrow(/COPY_VALUE/);
  });

  it('booleans: t/f out, boolin words in', () => {
    const bool = codec('boolean', 'bool');
    expectRoundTrip(bool, field(Buffer.from([1])), 't');
    expectRoundTrip(bool, field(Buffer.from([0])), 'f');
    for (const yes of ['true', 'TRUE', ' t ', 'yes', 'y', 'on', '1', 'tr']) expect(decode(bool, bool.encode(yes)), yes).toBe('t');
    for (const no of ['false', 'f', 'no', 'n', 'off', 'of', '0', 'FALSE']) expect(decode(bool, bool.encode(no)), no).toBe('f');
    for (const bad of ['', 'o', 'maybe', '2', 'truex']) expect(() => bool.encode(bad), bad).toThrow(/COPY_VALUE/);
  });

  it('money: int64 cents shown as lc_monetary C does, read as cash_in does', () => {
    fc.assert(fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), (n) => {
      const bytes = be(8, (b) => b.writeBigInt64BE(n));
      expect(money.encode(decode(money, bytes)!).equals(bytes)).toBe(true);
    }));
    expect(decode(money, be(8, (b) => b.writeBigInt64BE(123456789n)))).toBe('$1,234,567.89');
    expect(decode(money, be(8, (b) => b.writeBigInt64BE(-5n)))).toBe('-$0.05');
    const cents = (t: string): string => String(money.encode(t).readBigInt64BE(4));
    expect(['0', '12', '12.5', '$1,234.56', '-$3', '(3)', '1.005', '1.004', ' $ 7 ', '2-'].map(cents)).toEqual([
      '0', '1200', '1250', '123456', '-300', '-300', '101', '100', '700', '-200',
    ]);
    expect(() => money.encode('12abc')).toThrow(/COPY_VALUE/);
  });
});

describe('binary COPY numeric', () => {
  const digits = fc.string({ unit: fc.constantFrom(...'0123456789'), minLength: 1, maxLength: 24 });
  const decimal = fc.record({ negative: fc.boolean(), integer: digits, fraction: fc.option(fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: 24 }), { nil: undefined }) });

  /** numeric_out's form of a decimal literal: integer without leading zeros, the fraction as written, no '-' on zero. */
  function canonical(negative: boolean, integer: string, fraction: string | undefined): string {
    const int = integer.replace(/^0+(?=\d)/, '');
    const text = fraction === undefined || fraction === '' ? int : `${int}.${fraction}`;
    return negative && /[1-9]/.test(text) ? '-' + text : text;
  }

  it('decimal literals of any scale come back in numeric_out form, and bytes are stable', () => {
    fc.assert(
      fc.property(decimal, ({ negative, integer, fraction }) => {
        const literal = `${negative ? '-' : ''}${integer}${fraction === undefined ? '' : '.' + fraction}`;
        const bytes = numeric.encode(literal);
        const shown = decode(numeric, bytes)!;
        expect(shown).toBe(canonical(negative, integer, fraction));
        expect(numeric.encode(shown).equals(bytes)).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('writes the layout numeric_send writes (ndigits, weight, sign, dscale, base-10000 digits)', () => {
    const cases: [string, string][] = [
      ['0', '0000 0000 0000 0000'],
      ['0.00', '0000 0000 0000 0002'],
      ['1', '0001 0000 0000 0000 0001'],
      ['-1.5', '0002 0000 4000 0001 0001 1388'],
      ['12345.678', '0003 0001 0000 0003 0001 0929 1a7c'],
      ['0.001', '0001 ffff 0000 0003 000a'],
      ['100000000', '0001 0002 0000 0000 0001'],
      ['1.5e3', '0001 0000 0000 0000 05dc'],
      ['1e-3', '0001 ffff 0000 0003 000a'],
      ['NaN', '0000 0000 c000 0000'],
      ['Infinity', '0000 0000 d000 0020'],
      ['-inf', '0000 0000 f000 0020'],
    ];
    for (const [literal, hex] of cases) {
      const data = Buffer.from(hex.replaceAll(' ', ''), 'hex');
      expect(numeric.encode(literal).toString('hex'), literal).toBe(field(data).toString('hex'));
    }
    expect(['1.5e3', '1e-3', ' 42 ', '+.5', '5.', '-0.000', 'nan', 'INFINITY', '-Infinity'].map((t) => decode(numeric, numeric.encode(t)))).toEqual([
      '1500', '0.001', '42', '0.5', '5', '0.000', 'NaN', 'Infinity', '-Infinity',
    ]);
    for (const bad of ['', '.', '1..2', '1e', 'abc', '+NaN', '1e1001']) expect(() => numeric.encode(bad), bad).toThrow(/COPY_VALUE/);
  });

  it('shows only dscale fraction digits, as numeric_recv truncates', () => {
    // 1.2345 sent with dscale 2: PostgreSQL stores and shows 1.23.
    const data = Buffer.from('00020000000000020001' + '0929', 'hex');
    expect(decode(numeric, field(data))).toBe('1.23');
    // -0.0001 with dscale 2 is zero, without a sign.
    expect(decode(numeric, field(Buffer.from('0001ffff40000002' + '0001', 'hex')))).toBe('0.00');
  });
});

describe('binary COPY float4, float8', () => {
  it('float8: shortest round-trip text, the same bits back', () => {
    fc.assert(
      fc.property(fc.double({ noNaN: true }), (x) => {
        const bytes = be(8, (b) => b.writeDoubleBE(x));
        const shown = decode(float8, bytes)!;
        // float8out's syntax; Number() reads it back to the very same double (-0 and ±Infinity included).
        expect(shown).toMatch(/^(-?Infinity|-?\d+(\.\d+)?(e[+-]\d{2,3})?)$/);
        expect(Object.is(Number(shown), x), `${shown} for ${x}`).toBe(true);
        expect(float8.encode(shown).equals(bytes)).toBe(true);
      }),
    );
  });

  it('float8: the edges as float8out shows them', () => {
    const f8 = (x: number): string => decode(float8, be(8, (b) => b.writeDoubleBE(x)))!;
    expect([Infinity, -Infinity, 0, -0, Number.MAX_VALUE, -Number.MIN_VALUE].map(f8)).toEqual(['Infinity', '-Infinity', '0', '-0', '1.7976931348623157e+308', '-5e-324']);
  });

  it('float4: shortest round-trip text, the same bits back', () => {
    fc.assert(
      fc.property(fc.float({ noNaN: true }), (x) => {
        const bytes = be(4, (b) => b.writeFloatBE(x));
        const shown = decode(float4, bytes)!;
        expect(Math.fround(Number(shown))).toBe(x);
        expect(float4.encode(shown).equals(bytes)).toBe(true);
      }),
    );
  });

  it('formats like float8out / float4out: exponent form outside [-4, 15) and [-4, 6)', () => {
    const f8 = (x: number): string => decode(float8, be(8, (b) => b.writeDoubleBE(x)))!;
    const f4 = (x: number): string => decode(float4, be(4, (b) => b.writeFloatBE(x)))!;
    expect([1e20, 1.5e-5, 1e15, 1e14, 0.0001, 123.456, -0, NaN, -Infinity, 1e100, 5e-324].map(f8)).toEqual([
      '1e+20', '1.5e-05', '1e+15', '100000000000000', '0.0001', '123.456', '-0', 'NaN', '-Infinity', '1e+100', '5e-324',
    ]);
    expect([123456.7, 1234567, 0.1, 1e-40, 3.4028234663852886e38].map(f4)).toEqual(['123456.7', '1.234567e+06', '0.1', '1e-40', '3.4028235e+38']);
    for (const bad of ['', '1e999', '1e-999', 'abc', '0x10']) expect(() => float8.encode(bad), bad).toThrow(/COPY_VALUE/);
    expect(() => float4.encode('1e39')).toThrow(/COPY_VALUE/);
    expect(['inf', '-INFINITY', 'NaN', ' 2.5 '].map((t) => decode(float8, float8.encode(t)))).toEqual(['Infinity', '-Infinity', 'NaN', '2.5']);
  });
});

describe('binary COPY dates and times', () => {
  it('date: days since 2000-01-01, as the calendar says (years 1 to 9999)', () => {
    fc.assert(
      fc.property(fc.integer({ min: -730119, max: 2921939 }), (days) => {
        const bytes = be(4, (b) => b.writeInt32BE(days));
        const expected = new Date(EPOCH_2000 + days * 86400000).toISOString().slice(0, 10);
        expectRoundTrip(date, bytes, expected);
      }),
    );
  });

  it('date: the whole range, BC and infinities', () => {
    fc.assert(
      fc.property(fc.integer({ min: -2451545, max: 2147483494 - 2451545 - 1 }), (days) => {
        const bytes = be(4, (b) => b.writeInt32BE(days));
        expect(date.encode(decode(date, bytes)!).equals(bytes)).toBe(true);
      }),
    );
    expect(['0001-12-31 BC', '4714-11-24 BC', '5874897-12-31', 'infinity', '-infinity', 'epoch', '2011-11-11 11:11:11'].map((t) => decode(date, date.encode(t)))).toEqual([
      '0001-12-31 BC', '4714-11-24 BC', '5874897-12-31', 'infinity', '-infinity', '1970-01-01', '2011-11-11',
    ]);
    for (const bad of ['2011-02-29', '2011-13-01', '0000-01-01', '4714-11-23 BC', '5874898-01-01', '11-11-11', 'yesterday']) {
      expect(() => date.encode(bad), bad).toThrow(/COPY_VALUE/);
    }
  });

  it('timestamp and timestamptz: microseconds since 2000-01-01, ISO text, UTC', () => {
    const jsRange = fc.bigInt({ min: -63082281600000000n, max: 252455615999999999n }); // years 1 to 9999
    fc.assert(
      fc.property(jsRange, (us) => {
        const bytes = be(8, (b) => b.writeBigInt64BE(us));
        const ms = Number((us - (((us % 1000n) + 1000n) % 1000n)) / 1000n);
        const iso = new Date(EPOCH_2000 + ms).toISOString();
        const micros = String(((us % 1000000n) + 1000000n) % 1000000n).padStart(6, '0').replace(/0+$/, '');
        const expected = `${iso.slice(0, 10)} ${iso.slice(11, 19)}${micros === '' ? '' : '.' + micros}`;
        expectRoundTrip(timestamp, bytes, expected);
        expectRoundTrip(timestamptz, bytes, expected + '+00');
      }),
    );
    fc.assert(
      fc.property(fc.bigInt({ min: MIN_TIMESTAMP, max: END_TIMESTAMP - 1n }), (us) => {
        const bytes = be(8, (b) => b.writeBigInt64BE(us));
        expect(timestamp.encode(decode(timestamp, bytes)!).equals(bytes)).toBe(true);
        expect(timestamptz.encode(decode(timestamptz, bytes)!).equals(bytes)).toBe(true);
      }),
    );
  });

  it('timestamps: literal forms with fractions, offsets, T, BC', () => {
    const tz = (t: string): string | null => decode(timestamptz, timestamptz.encode(t));
    expect([
      '2011-11-11 11:11:11+00',
      '2011-11-11T11:11:11.123456789Z',
      '2011-11-11 11:11:11.5+02',
      '2011-11-11 11:11:11-08:30',
      '2011-11-11 11:11:11 +0530',
      '2011-11-11 11:11:11 UTC',
      '2011-11-11 11:11:11',
      '2011-11-11',
      '2011-11-11 24:00:00',
      '0001-01-01 00:00:00+00 BC',
      ' infinity ',
      'epoch',
    ].map(tz)).toEqual([
      '2011-11-11 11:11:11+00',
      '2011-11-11 11:11:11.123457+00',
      '2011-11-11 09:11:11.5+00',
      '2011-11-11 19:41:11+00',
      '2011-11-11 05:41:11+00',
      '2011-11-11 11:11:11+00',
      '2011-11-11 11:11:11+00',
      '2011-11-11 00:00:00+00',
      '2011-11-12 00:00:00+00',
      '0001-01-01 00:00:00+00 BC',
      'infinity',
      '1970-01-01 00:00:00+00',
    ]);
    // timestamp without time zone ignores an offset, as PostgreSQL does.
    expect(decode(timestamp, timestamp.encode('2011-11-11 11:11:11.000001+05'))).toBe('2011-11-11 11:11:11.000001');
    for (const bad of ['2011-11-11 25:00:00', '2011-11-11 11:60:00', '2011-11-11 11:11:11+16', '294277-01-01 00:00:00', '2011-11-11 11']) {
      expect(() => timestamp.encode(bad), bad).toThrow(/COPY_VALUE/);
    }
  });

  it('time and timetz: microseconds since midnight, zone in seconds west', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 86400000000n }), fc.integer({ min: -57599, max: 57599 }), (us, zone) => {
        const t = be(8, (b) => b.writeBigInt64BE(us));
        expect(time.encode(decode(time, t)!).equals(t)).toBe(true);
        const tz = be(12, (b) => {
          b.writeBigInt64BE(us);
          b.writeInt32BE(zone, 8);
        });
        expect(timetz.encode(decode(timetz, tz)!).equals(tz)).toBe(true);
      }),
    );
    expect(['11:11:11', '11:11', '00:00:00.5', '24:00:00', '23:59:59.9999999'].map((t) => decode(time, time.encode(t)))).toEqual([
      '11:11:11', '11:11:00', '00:00:00.5', '24:00:00', '24:00:00',
    ]);
    expect(['11:11:11+00', '11:11:11', '11:11:11-08', '11:11:11+05:30', '11:11:11+05:30:15', '11:11:11Z'].map((t) => decode(timetz, timetz.encode(t)))).toEqual([
      '11:11:11+00', '11:11:11+00', '11:11:11-08', '11:11:11+05:30', '11:11:11+05:30:15', '11:11:11+00',
    ]);
    expect(timetz.encode('11:11:11+05:30').readInt32BE(12)).toBe(-19800);
    // timetz_recv takes zones up to 16 hours, but text input only up to 15:59:59.
    for (const bad of ['24:00:01', '1:2', '11:11:11 +16', 'noon']) expect(() => timetz.encode(bad), bad).toThrow(/COPY_VALUE/);
  });

  it('interval: postgres style out, the same bytes back; common literal forms in', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: -(1n << 63n) + 1n, max: (1n << 63n) - 2n }), fc.integer(), fc.integer(), (us, days, months) => {
        const bytes = be(16, (b) => {
          b.writeBigInt64BE(us);
          b.writeInt32BE(days, 8);
          b.writeInt32BE(months, 12);
        });
        expect(interval.encode(decode(interval, bytes)!).toString('hex')).toBe(bytes.toString('hex'));
      }),
      { numRuns: 1000 },
    );
    const iv = (t: string): string | null => decode(interval, interval.encode(t));
    expect([
      '0',
      '5',
      '1 year 2 mons 3 days 04:05:06.789',
      '-1 years -2 mons +3 days -04:05:06.789',
      '1.5 years',
      '1 day 12:00:00',
      '1 2:03:04',
      '@ 3 days ago',
      '90 minutes',
      '1h30m',
      '2 weeks',
      '1.5 months',
      '-00:00:01.5',
      'P1Y2M3DT4H5M6.5S',
      'PT0S',
      '1 millisecond 5 microseconds',
    ].map(iv)).toEqual([
      '00:00:00',
      '00:00:05',
      '1 year 2 mons 3 days 04:05:06.789',
      '-1 years -2 mons +3 days -04:05:06.789',
      '1 year 6 mons',
      '1 day 12:00:00',
      '1 day 02:03:04',
      '-3 days',
      '01:30:00',
      '01:30:00',
      '14 days',
      '1 mon 15 days',
      '-00:00:01.5',
      '1 year 2 mons 3 days 04:05:06.5',
      '00:00:00',
      '00:00:00.001005',
    ]);
    for (const bad of ['', 'soon', '1 fortnight', '1 day 2 days', '3 4']) expect(() => interval.encode(bad), bad).toThrow(/COPY_VALUE/);
  });
});

describe('binary COPY text, json, bytea, uuid, enum, "char"', () => {
  it('text: the string in the encoding, emoji and all', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (s) => {
        const bytes = field(Buffer.from(s, 'utf8'));
        expectRoundTrip(text, bytes, s);
      }),
    );
    const latin1 = binaryFieldCodec(type('text', 'varchar'), 'latin1');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 40 }), (raw) => {
        const bytes = field(Buffer.from(raw));
        expect(latin1.encode(decode(latin1, bytes)!).equals(bytes)).toBe(true);
      }),
    );
  });

  it('json is its text; jsonb its text after version byte 1', () => {
    const json = codec('json', 'json');
    const jsonb = codec('jsonb', 'jsonb');
    expectRoundTrip(json, field(Buffer.from('{"a": "é"}')), '{"a": "é"}');
    expectRoundTrip(jsonb, field(Buffer.concat([Buffer.from([1]), Buffer.from('[1, "x"]')])), '[1, "x"]');
    expect(() => decode(jsonb, field(Buffer.from('\x02{}')))).toThrow(/jsonb version/);
  });

  it('bytea: \\x hex out; hex (with spaces between pairs) and escape format in', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 64 }), (raw) => expectRoundTrip(bytea, field(Buffer.from(raw)), '\\x' + Buffer.from(raw).toString('hex'))));
    expect(['', '\\x', '\\xDE AD\nbe ef', 'a\\\\b\\001\\377', 'é'].map((t) => decode(bytea, bytea.encode(t)))).toEqual([
      '\\x', '\\x', '\\xdeadbeef', '\\x615c6201ff', '\\xc3a9',
    ]);
    for (const bad of ['\\x0', '\\xzz', '\\x0 0', 'a\\b', 'a\\400']) expect(() => bytea.encode(bad), bad).toThrow(/COPY_VALUE/);
  });

  it('uuid: canonical lower case out; braces, capitals, hyphens after any group of four in', () => {
    fc.assert(fc.property(fc.uuid(), (u) => expectRoundTrip(uuid, field(Buffer.from(u.replaceAll('-', ''), 'hex')), u)));
    expect(['A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '{a0eebc999c0b4ef8bb6d6bb9bd380a11}', 'a0ee-bc99-9c0b-4ef8-bb6d-6bb9-bd38-0a11'].map((t) => decode(uuid, uuid.encode(t)))).toEqual(
      Array(3).fill('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
    );
    for (const bad of ['', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'a0eebc99--9c0b-4ef8-bb6d-6bb9bd380a11']) {
      expect(() => uuid.encode(bad), bad).toThrow(/COPY_VALUE/);
    }
  });

  it('enum: its label; "char": one byte, \\ooo above 127', () => {
    const mood = codec('enum', 'mood', { labels: ['sad', 'ok'] });
    expectRoundTrip(mood, field(Buffer.from('sad')), 'sad');
    const char = codec('text', 'char', { maxLength: 1 });
    expectRoundTrip(char, field(Buffer.from('x')), 'x');
    expectRoundTrip(char, field(Buffer.from([0xff])), '\\377');
    expectRoundTrip(char, field(Buffer.from([0])), '');
    expect(decode(char, char.encode('xxx1'))).toBe('x');
  });
});

describe('binary COPY network types', () => {
  it('inet and cidr: the same bytes back for any address and prefix', () => {
    const address = fc.oneof(
      fc.tuple(fc.constant(2), fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.integer({ min: 0, max: 32 })),
      fc.tuple(fc.constant(3), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 128 })),
      // Addresses with runs of zero words, to exercise '::'.
      fc.tuple(fc.constant(3), fc.array(fc.constantFrom(0, 0, 0, 1, 0xffff), { minLength: 16, maxLength: 16 }).map((a) => Uint8Array.from(a)), fc.integer({ min: 0, max: 128 })),
    );
    fc.assert(
      fc.property(address, ([family, raw, bits]) => {
        const addr = Buffer.from(raw);
        const inetBytes = field(Buffer.concat([Buffer.from([family, bits, 0, addr.length]), addr]));
        expect(inet.encode(decode(inet, inetBytes)!).equals(inetBytes)).toBe(true);
        // cidr: host bits cleared.
        for (let i = 0; i < addr.length; i++) addr[i] = addr[i]! & (0xff << (8 - Math.max(0, Math.min(8, bits - 8 * i)))) & 0xff;
        const cidrBytes = field(Buffer.concat([Buffer.from([family, bits, 1, addr.length]), addr]));
        expect(cidr.encode(decode(cidr, cidrBytes)!).equals(cidrBytes)).toBe(true);
      }),
    );
  });

  it('writes text as inet_out / cidr_out do', () => {
    const show = (c: BinaryFieldCodec, t: string): string | null => decode(c, c.encode(t));
    expect(['192.0.2.1', '192.0.2.1/24', '10/8', '2001:db8::1', '2001:DB8:0:0:1:0:0:1/64', '::ffff:1.2.3.4', '::1.2.3.4', '::', '1:0:0:1:0:0:0:1', 'a:0:0:b:0:0:c:d', '::2'].map((t) => show(inet, t))).toEqual([
      '192.0.2.1', '192.0.2.1/24', '10.0.0.0/8', '2001:db8::1', '2001:db8::1:0:0:1/64', '::ffff:1.2.3.4', '::1.2.3.4', '::', '1:0:0:1::1', 'a::b:0:0:c:d', '::2',
    ]);
    expect(['192.0.2.0/24', '10', '10.1', '192.168.1', '192.168.1.0', '224', '2001:db8::/32', '::1'].map((t) => show(cidr, t))).toEqual([
      '192.0.2.0/24', '10.0.0.0/8', '10.1.0.0/16', '192.168.1.0/24', '192.168.1.0/32', '224.0.0.0/4', '2001:db8::/32', '::1/128',
    ]);
    expect(() => cidr.encode('192.0.2.1/24')).toThrow(/bits set to the right of the mask/);
    for (const bad of ['', '1.2.3', '256.1.1.1', '1.2.3.4/33', '1:2:3', '1::2::3', '::/129', 'fe80::1%eth0']) expect(() => inet.encode(bad), bad).toThrow(/COPY_VALUE/);
  });

  it('macaddr and macaddr8: lower-case colon form out; the accepted input formats in', () => {
    const mac = codec('macaddr', 'macaddr');
    const mac8 = codec('macaddr8', 'macaddr8');
    fc.assert(fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (raw) => {
      const bytes = field(Buffer.from(raw));
      expect(mac.encode(decode(mac, bytes)!).equals(bytes)).toBe(true);
    }));
    fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (raw) => {
      const bytes = field(Buffer.from(raw));
      expect(mac8.encode(decode(mac8, bytes)!).equals(bytes)).toBe(true);
    }));
    expect(['08:00:2B:01:02:03', '08-00-2b-01-02-03', '08002b:010203', '0800.2b01.0203', '0800-2b01-0203', '08002b010203', '8:0:2b:1:2:3'].map((t) => decode(mac, mac.encode(t)))).toEqual(
      Array(7).fill('08:00:2b:01:02:03'),
    );
    expect(['00:00:5e:ff:fe:00:53:00', '00:00:5e:00:53:00', '00005eFFFE005300', '0000.5eff.fe00.5300'].map((t) => decode(mac8, mac8.encode(t)))).toEqual(
      Array(4).fill('00:00:5e:ff:fe:00:53:00'),
    );
    for (const bad of ['', '08:00:2b:01:02', '08:00-2b:01:02:03', 'gg:00:2b:01:02:03']) expect(() => mac.encode(bad), bad).toThrow(/COPY_VALUE/);
  });
});

describe('binary COPY arrays', () => {
  const int4s = binaryFieldCodec(arrayOf(type('integer', 'int4')), 'utf8');
  const texts = binaryFieldCodec(arrayOf(type('text', 'text')), 'utf8');

  /** array_send's bytes for a one-dimensional array. */
  function arrayBytes(oid: number, items: (Buffer | null)[], lowerBound = 1): Buffer {
    const head = Buffer.alloc(items.length === 0 ? 12 : 20);
    head.writeInt32BE(items.length === 0 ? 0 : 1, 0);
    head.writeInt32BE(items.includes(null) ? 1 : 0, 4);
    head.writeUInt32BE(oid, 8);
    if (items.length > 0) {
      head.writeInt32BE(items.length, 12);
      head.writeInt32BE(lowerBound, 16);
    }
    return field(Buffer.concat([head, ...items.map((i) => (i === null ? Buffer.from('ffffffff', 'hex') : field(i)))]));
  }

  it('int4[]: literal text out, the same bytes back, element OID 23', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer(), { nil: null }), { maxLength: 8 }), fc.integer({ min: -5, max: 5 }), (values, lb) => {
        const bytes = arrayBytes(23, values.map((v) => (v === null ? null : Buffer.from(int4.encode(String(v)).subarray(4)))), lb);
        const literal = values.length === 0 ? '{}' : `${lb === 1 ? '' : `[${lb}:${lb + values.length - 1}]=`}{${values.map((v) => v ?? 'NULL').join(',')}}`;
        expectRoundTrip(int4s, bytes, literal);
      }),
    );
  });

  it('text[]: elements quoted as array_out quotes them; literals read as array_in reads them', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.string({ unit: 'grapheme', maxLength: 6 }), { nil: null }), { minLength: 1, maxLength: 6 }), (values) => {
        const bytes = arrayBytes(25, values.map((v) => (v === null ? null : Buffer.from(v))));
        const literal = decode(texts, bytes)!;
        expect(texts.encode(literal).equals(bytes)).toBe(true);
        // array_out's quoting is what mapArrayLiteral writes: a fixed point.
        expect(mapArrayLiteral(literal, (e) => e)).toBe(literal);
      }),
    );
    expect(decode(texts, texts.encode('{a,"b c",NULL,"",null,"NULL","q\\"uote","back\\\\slash",  x y  ,\\ z}'))).toBe(
      '{a,"b c",NULL,"",NULL,"NULL","q\\"uote","back\\\\slash","x y"," z"}',
    );
  });

  it('multi-dimensional arrays, bounds, empty arrays; malformed literals refused', () => {
    for (const literal of ['{{1,2},{3,NULL}}', '[0:1][1:2]={{1,2},{3,4}}', '{}', '{{{1}},{{2}}}', '[-3:-3]={7}']) {
      expect(decode(int4s, int4s.encode(literal)), literal).toBe(literal);
    }
    expect(decode(int4s, int4s.encode(' { 1 , 2 } '))).toBe('{1,2}');
    for (const bad of ['', '{', '{1,}', '{{1},2}', '{1,{2}}', '{{1,2},{3}}', '{{},{}}', '[1:3]={1,2}', '{1} x', '{"a"b}', '{x}']) {
      expect(() => int4s.encode(bad), bad).toThrow(/COPY_VALUE/);
    }
  });

  it('encodeLike takes the element type OID from the original field; encode uses the built-in one or 0', () => {
    const mood = binaryFieldCodec(arrayOf(type('enum', 'mood', { labels: ['sad', 'ok'] })), 'utf8');
    const original = arrayBytes(16385, [Buffer.from('ok')]);
    expect(mood.encode('{sad}').readUInt32BE(12)).toBe(0);
    expect(mood.encodeLike('{sad}', original, 0, original.length).readUInt32BE(12)).toBe(16385);
    expect(texts.encode('{a}').readUInt32BE(12)).toBe(25);
    expect(binaryFieldCodec(arrayOf(type('text', 'varchar')), 'utf8').encode('{a}').readUInt32BE(12)).toBe(1043);
    expect(texts.encodeLike(null, original, 0, original.length).toString('hex')).toBe('ffffffff');
  });

  it('placeholders written by mapArrayLiteral encode for every element type', () => {
    const numerics = binaryFieldCodec(arrayOf(type('numeric', 'numeric')), 'utf8');
    expect(decode(numerics, numerics.encode(mapArrayLiteral('{1.5,NULL,-2}', () => '0')))).toBe('{0,NULL,0}');
    const dates = binaryFieldCodec(arrayOf(type('date', 'date')), 'utf8');
    expect(decode(dates, dates.encode(mapArrayLiteral('[0:1]={2020-01-01,2021-01-01}', () => '2011-11-11')))).toBe('[0:1]={2011-11-11,2011-11-11}');
  });
});

describe('binary COPY placeholders', () => {
  // src/strategies/placeholder.ts CONSTANT_PLACEHOLDERS, and what PostgreSQL shows for each.
  const cases: [ResolvedType, string, string][] = [
    [type('integer', 'int2'), '1', '1'],
    [type('integer', 'int4'), '1', '1'],
    [type('integer', 'int8'), '1', '1'],
    [type('integer', 'oid'), '1', '1'],
    [type('numeric', 'numeric'), '0', '0'],
    [type('numeric', 'float4'), '0', '0'],
    [type('numeric', 'float8'), '0', '0'],
    [type('numeric', 'money'), '0', '$0.00'],
    [type('boolean', 'bool'), 'false', 'f'],
    [type('date', 'date'), '2011-11-11', '2011-11-11'],
    [type('timestamp', 'timestamp'), '2011-11-11 11:11:11', '2011-11-11 11:11:11'],
    [type('timestamptz', 'timestamptz'), '2011-11-11 11:11:11+00', '2011-11-11 11:11:11+00'],
    [type('time', 'time'), '11:11:11', '11:11:11'],
    [type('timetz', 'timetz'), '11:11:11+00', '11:11:11+00'],
    [type('interval', 'interval'), '0', '00:00:00'],
    [type('bytea', 'bytea'), '', '\\x'],
    [type('inet', 'inet'), '192.0.2.1', '192.0.2.1'],
    [type('cidr', 'cidr'), '192.0.2.0/24', '192.0.2.0/24'],
    [type('macaddr', 'macaddr'), '00:00:5e:00:53:00', '00:00:5e:00:53:00'],
    [type('macaddr8', 'macaddr8'), '00:00:5e:ff:fe:00:53:00', '00:00:5e:ff:fe:00:53:00'],
    [type('text', 'varchar', { maxLength: 10 }), 'xxx42', 'xxx42'],
    [type('text', 'bpchar', { maxLength: 3 }), 'x42', 'x42'],
    [type('enum', 'mood', { labels: ['sad', 'ok'] }), 'sad', 'sad'],
    [type('uuid', 'uuid'), '3f0e5ab6-6a4e-8c1e-9b9f-2f1d0c3b4a59', '3f0e5ab6-6a4e-8c1e-9b9f-2f1d0c3b4a59'],
    [type('json', 'json'), '{"a": "xxx1", "n": 0}', '{"a": "xxx1", "n": 0}'],
    [type('jsonb', 'jsonb'), '{"a": "xxx1"}', '{"a": "xxx1"}'],
  ];
  it.each(cases)('%o: %s', (t, placeholder, shown) => {
    const c = binaryFieldCodec(t, 'utf8');
    const bytes = c.encode(placeholder);
    expect(decode(c, bytes)).toBe(shown);
    expect(c.encode(shown).equals(bytes)).toBe(true);
  });
});
