// Binary COPY against the real PostgreSQL 15 of the test run: data written by
// `COPY ... TO (FORMAT binary)` is split and decoded exactly as PostgreSQL prints it, and
// files built from encoded placeholders and constants load with `COPY ... FROM`.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BINARY_COPY_TRAILER, BinaryCopyReader, binaryCopyHeader, binaryTuple } from '../../src/copy/binary-rows.js';
import { binaryFieldCodec, type BinaryFieldCodec } from '../../src/copy/binary-values.js';
import { mapArrayLiteral } from '../../src/copy/array-literal.js';
import { maskJsonShape } from '../../src/copy/json-shape.js';
import { uuidFromKey } from '../../src/strategies/placeholder.js';
import type { ResolvedType, TypeKind } from '../../src/schema/types.js';
import { NULL_TEXT, createDatabase, describeWithPg, dropDatabase, psqlCommand, queryRows, quoteLiteral, uniqueDatabaseName } from '../integration/pg.js';

function type(kind: TypeKind, base: string, extra: Partial<ResolvedType> = {}): ResolvedType {
  return { kind, base, display: base, notNull: false, ...extra };
}

function arrayOf(element: ResolvedType): ResolvedType {
  return { kind: 'array', base: element.base, display: `${element.display}[]`, notNull: false, element };
}

const MOOD = type('enum', 'mood', { labels: ['sad', 'ok', 'happy'] });

interface Column {
  name: string;
  sql: string;
  type: ResolvedType;
  /** The placeholder for a non-NULL value of row `key`, given the original text. */
  placeholder: (original: string, key: string) => string;
  /** A literal a user might give as a `constant`. */
  constant: string;
}

const fixed = (value: string) => (): string => value;
const xxx = (_original: string, key: string): string => `xxx${key}`;

const COLUMNS: Column[] = [
  { name: 'i2', sql: 'smallint', type: type('integer', 'int2'), placeholder: fixed('1'), constant: ' -7 ' },
  { name: 'i4', sql: 'integer', type: type('integer', 'int4'), placeholder: fixed('1'), constant: '+42' },
  { name: 'i8', sql: 'bigint', type: type('integer', 'int8'), placeholder: fixed('1'), constant: '-9223372036854775808' },
  { name: 'o', sql: 'oid', type: type('integer', 'oid'), placeholder: fixed('1'), constant: '4294967295' },
  { name: 'n', sql: 'numeric', type: type('numeric', 'numeric'), placeholder: fixed('0'), constant: '-1.5e3' },
  { name: 'n2', sql: 'numeric(12,4)', type: type('numeric', 'numeric'), placeholder: fixed('0'), constant: '12.34567' },
  { name: 'f4', sql: 'real', type: type('numeric', 'float4'), placeholder: fixed('0'), constant: '1.5e-3' },
  { name: 'f8', sql: 'double precision', type: type('numeric', 'float8'), placeholder: fixed('0'), constant: '-0.1' },
  { name: 'm', sql: 'money', type: type('numeric', 'money'), placeholder: fixed('0'), constant: '$1,234.567' },
  { name: 'b', sql: 'boolean', type: type('boolean', 'bool'), placeholder: fixed('false'), constant: 'yes' },
  { name: 'd', sql: 'date', type: type('date', 'date'), placeholder: fixed('2011-11-11'), constant: '0044-03-15 BC' },
  { name: 'ts', sql: 'timestamp', type: type('timestamp', 'timestamp'), placeholder: fixed('2011-11-11 11:11:11'), constant: '2011-11-11T11:11:11.1234565' },
  { name: 'tstz', sql: 'timestamptz', type: type('timestamptz', 'timestamptz'), placeholder: fixed('2011-11-11 11:11:11+00'), constant: '2011-11-11 11:11:11.5-08:30' },
  { name: 'tm', sql: 'time', type: type('time', 'time'), placeholder: fixed('11:11:11'), constant: '23:59:59.999999' },
  { name: 'ttz', sql: 'timetz', type: type('timetz', 'timetz'), placeholder: fixed('11:11:11+00'), constant: '11:11:11-05' },
  { name: 'iv', sql: 'interval', type: type('interval', 'interval'), placeholder: fixed('0'), constant: '1 year 2 months 3 days 04:05:06 ago' },
  { name: 'by', sql: 'bytea', type: type('bytea', 'bytea'), placeholder: fixed(''), constant: '\\xDEADbeef' },
  { name: 'j', sql: 'json', type: type('json', 'json'), placeholder: (v, key) => maskJsonShape(v, () => `xxx${key}`), constant: '{"k": [1, 2]}' },
  { name: 'jb', sql: 'jsonb', type: type('jsonb', 'jsonb'), placeholder: (v, key) => maskJsonShape(v, () => `xxx${key}`), constant: '{"b": 1, "a": 2}' },
  { name: 'e', sql: 'mood', type: MOOD, placeholder: fixed('sad'), constant: 'happy' },
  { name: 'u', sql: 'uuid', type: type('uuid', 'uuid'), placeholder: (_v, key) => uuidFromKey(key), constant: '{A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11}' },
  { name: 'ip', sql: 'inet', type: type('inet', 'inet'), placeholder: fixed('192.0.2.1'), constant: '2001:DB8::1/64' },
  { name: 'cn', sql: 'cidr', type: type('cidr', 'cidr'), placeholder: fixed('192.0.2.0/24'), constant: '10.1/16' },
  { name: 'mac', sql: 'macaddr', type: type('macaddr', 'macaddr'), placeholder: fixed('00:00:5e:00:53:00'), constant: '08-00-2B-01-02-03' },
  { name: 'mac8', sql: 'macaddr8', type: type('macaddr8', 'macaddr8'), placeholder: fixed('00:00:5e:ff:fe:00:53:00'), constant: '08:00:2b:01:02:03' },
  { name: 'tx', sql: 'text', type: type('text', 'text'), placeholder: xxx, constant: 'Zoë 🎉 "quoted"\ttab' },
  { name: 'vc', sql: 'varchar(10)', type: type('text', 'varchar', { maxLength: 10 }), placeholder: xxx, constant: 'short' },
  { name: 'bc', sql: 'char(5)', type: type('text', 'bpchar', { maxLength: 5 }), placeholder: xxx, constant: 'ab' },
  { name: 'ch', sql: '"char"', type: type('text', 'char', { maxLength: 1 }), placeholder: fixed('x'), constant: 'q' },
  { name: 'nm', sql: 'name', type: type('text', 'name'), placeholder: xxx, constant: 'some_name' },
  { name: 'em', sql: 'email', type: type('text', 'text'), placeholder: (_v, key) => `xxx${key}@x`, constant: 'a@b.example' },
  { name: 'ai', sql: 'integer[]', type: arrayOf(type('integer', 'int4')), placeholder: (v) => mapArrayLiteral(v, () => '1'), constant: '{1,NULL,3}' },
  { name: 'at', sql: 'text[]', type: arrayOf(type('text', 'text')), placeholder: (v, key) => mapArrayLiteral(v, () => `xxx${key}`), constant: '{"a b",NULL,"q\\"uote"}' },
  { name: 'an', sql: 'numeric[]', type: arrayOf(type('numeric', 'numeric')), placeholder: (v) => mapArrayLiteral(v, () => '0'), constant: '{1.50,-2,NaN}' },
  { name: 'ae', sql: 'mood[]', type: arrayOf(MOOD), placeholder: (v) => mapArrayLiteral(v, () => 'sad'), constant: '{ok,happy}' },
  { name: 'ad', sql: 'posint[]', type: arrayOf(type('integer', 'int4')), placeholder: (v) => mapArrayLiteral(v, () => '1'), constant: '[0:1]={5,6}' },
  { name: 'ats', sql: 'timestamptz[]', type: arrayOf(type('timestamptz', 'timestamptz')), placeholder: (v) => mapArrayLiteral(v, () => '2011-11-11 11:11:11+00'), constant: '{"2011-11-11 11:11:11+02",NULL}' },
];

const SCHEMA = `
CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
CREATE DOMAIN posint AS integer CHECK (VALUE > 0);
CREATE DOMAIN email AS text CHECK (VALUE LIKE '%@%');
CREATE TABLE t (id integer PRIMARY KEY, ${COLUMNS.map((c) => `${c.name} ${c.sql}`).join(', ')});
CREATE TABLE t2 (LIKE t);
CREATE TABLE t3 (LIKE t);
`;

// Values in the order of COLUMNS; id first.
const ROWS: (string | null)[][] = [
  [
    '1', '1', '2', '3', '4', '1.5', '123.4', '1.5', '1.5', '12.5', 'true', '2011-11-11', '2011-11-11 11:11:11', '2011-11-11 11:11:11+00',
    '11:11:11', '11:11:11+05:30', '1 year 2 mons 3 days 04:05:06.789', '\\x00ff', '{"a": [1, "x"]}', '{"b": 1, "a": [true, null, "s"]}', 'ok',
    'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '192.168.0.1/24', '10.0.0.0/8', '08:00:2b:01:02:03', '08:00:2b:01:02:03:04:05', 'héllo 🎉', 'varchar', 'ab',
    'x', 'pg_name', 'a@b.example', '{1,2,3}', '{a,"b c",NULL,"","null","q\\"uote","back\\\\slash"}', '{1.50,-0.001,NaN}', '{sad,happy}', '{1,2}',
    '{"2011-11-11 11:11:11.5+00",NULL}',
  ],
  [
    '2', '-32768', '-2147483648', '-9223372036854775808', '4294967295', '-123456789.000100', '-0.0001', '-1.5e-10', '1e300', '-1234.56', 'false',
    '0044-03-15 BC', '1999-12-31 23:59:59.999999', '2024-02-29 12:00:00.000001-08', '24:00:00', '00:00:00-15:59', '-1 years -2 mons +3 days -04:05:06.789',
    '', '[]', '[]', 'sad', '00000000-0000-0000-0000-000000000000', '2001:db8::1/64', '2001:db8::/32', '00:00:00:00:00:00', 'ff:ff:ff:ff:ff:ff:ff:ff', '',
    '', '', '\\377', '', '@', '[0:1][1:2]={{1,2},{3,NULL}}', '{}', '{}', '{}', '[-2:-1]={3,4}', '{}',
  ],
  ['3', ...COLUMNS.map(() => null)],
  [
    '4', '32767', '2147483647', '9223372036854775807', '0', 'NaN', '0', '-Infinity', 'Infinity', '0', 'true', 'infinity', '-infinity', 'infinity',
    '00:00:00.5', '12:00:00-08', '0', '\\x', 'null', '"str"', 'happy', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '::ffff:1.2.3.4', '::/0',
    'ff:ff:ff:ff:ff:ff', '00:00:00:00:00:00:00:00', 'tab\there\nnewline', 'x', 'abcde', ' ', 'n', 'x@y', '{-2147483648}', '{"{}",",","a\tb"}',
    '{Infinity,-Infinity,0.000000001}', '{ok}', '{{1},{2}}', '{-infinity}',
  ],
  [
    '5', '0', '0', '0', '0', '0.000', '99999999.9999', '1e-40', '5e-324', '92233720368547758.07', 'false', '5874897-12-31', '294276-12-31 23:59:59.999999',
    '4713-11-24 00:00:00+00 BC', '23:59:59.999999', '23:59:59.999999+15:59:59', '178000000 years', '\\x5c', '{"k":"v"}', '{"k": "v", "arr": [1.50, 2e3]}',
    'sad', '123e4567-e89b-12d3-a456-426614174000', '::2', '1:0:0:1::/64', '01:02:03:04:05:06', '01:02:03:ff:fe:04:05:06', 'x'.repeat(100_000), 'y', 'a b',
    'z', 'z', 'big@x', '{0}', '{"\\\\",NULL}', '{123456789012345678901234567890.123456789}', '{sad,sad}', '{7}', '{"1999-01-08 04:05:06.000001+00"}',
  ],
];

function psqlCopy(db: string, command: string): void {
  psqlCommand(db, command);
}

interface Tuple {
  fields: Buffer[];
}

function readTuples(data: Buffer): { header: Buffer; tuples: Tuple[]; trailer: Buffer } {
  let header = Buffer.alloc(0);
  let trailer = Buffer.alloc(0);
  const tuples: Tuple[] = [];
  const reader = new BinaryCopyReader({
    header: (buf, start, end) => (header = Buffer.from(buf.subarray(start, end))),
    row: (buf, _start, _end, starts, ends) => tuples.push({ fields: starts.map((s, i) => Buffer.from(buf.subarray(s, ends[i]))) }),
    trailer: (buf, start, end) => (trailer = Buffer.from(buf.subarray(start, end))),
  });
  // Odd-sized chunks, so tuples straddle chunk boundaries.
  for (let i = 0; i < data.length; i += 4093) reader.write(data.subarray(i, i + 4093));
  reader.end();
  return { header, tuples, trailer };
}

describeWithPg('binary COPY against PostgreSQL', () => {
  const db = uniqueDatabaseName('binary_copy');
  const codecs: BinaryFieldCodec[] = [binaryFieldCodec(type('integer', 'int4'), 'utf8'), ...COLUMNS.map((c) => binaryFieldCodec(c.type, 'utf8'))];
  const select = `SELECT id, ${COLUMNS.map((c) => c.name).join(', ')}`;
  let tmp = '';
  let data = Buffer.alloc(0);

  beforeAll(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), 'pgcloak-binary-'));
    createDatabase(db);
    const values = ROWS.map((row) => `(${row.map((v, i) => (v === null ? 'NULL' : `${quoteLiteral(v)}::${i === 0 ? 'integer' : COLUMNS[i - 1]!.sql}`)).join(', ')})`);
    psqlCommand(db, `${SCHEMA}\nINSERT INTO t VALUES ${values.join(',\n')};`);
    const file = path.join(tmp, 't.bin');
    psqlCopy(db, `\\copy (SELECT * FROM t ORDER BY id) TO '${file}' WITH (FORMAT binary)`);
    data = readFileSync(file);
  });

  afterAll(() => {
    dropDatabase(db);
    if (tmp !== '') rmSync(tmp, { recursive: true, force: true });
  });

  it('splits COPY TO output into its header, one tuple per row with every column, and the trailer', () => {
    const { header, tuples, trailer } = readTuples(data);
    expect(header.toString('hex')).toBe(binaryCopyHeader().toString('hex'));
    expect(trailer.toString('hex')).toBe('ffff');
    expect(tuples.map((t) => t.fields.length)).toEqual(ROWS.map(() => COLUMNS.length + 1));
    expect(tuples[2]!.fields.slice(1).every((f) => f.toString('hex') === 'ffffffff')).toBe(true);
    // The tuples and fields cover the data exactly: built back, the same bytes.
    const rebuilt = Buffer.concat([header, ...tuples.map((t) => binaryTuple(t.fields)), trailer]);
    expect(rebuilt.equals(data)).toBe(true);
  });

  it('decodes every field as PostgreSQL prints it', () => {
    const { tuples } = readTuples(data);
    const expected = queryRows(db, `${select} FROM t ORDER BY id`);
    const decoded = tuples.map((t) => t.fields.map((f, i) => codecs[i]!.decode(f, 0, f.length) ?? NULL_TEXT));
    for (let r = 0; r < expected.length; r++) {
      for (let i = 0; i < expected[r]!.length; i++) {
        const name = i === 0 ? 'id' : COLUMNS[i - 1]!.name;
        expect(decoded[r]![i], `row ${r + 1} column ${name}`).toBe(expected[r]![i]);
      }
    }
  });

  it('encodes every decoded field back to the bytes PostgreSQL wrote', () => {
    const { header, tuples, trailer } = readTuples(data);
    const again = tuples.map((t) =>
      binaryTuple(t.fields.map((f, i) => codecs[i]!.encodeLike(codecs[i]!.decode(f, 0, f.length), f, 0, f.length))),
    );
    expect(Buffer.concat([header, ...again, trailer]).equals(data)).toBe(true);
    // Without the original, arrays over an enum (OID 0 written) and over a domain (the base
    // type's OID written) differ; the load test below shows PostgreSQL 15 takes both.
    const differing = COLUMNS.filter((_c, i) =>
      tuples.some((t) => {
        const f = t.fields[i + 1]!;
        return !codecs[i + 1]!.encode(codecs[i + 1]!.decode(f, 0, f.length)).equals(f);
      }),
    ).map((c) => c.name);
    expect(differing).toEqual(['ae', 'ad']);
  });

  it('loads placeholders written in binary with COPY FROM, each as its text form would load', () => {
    const { tuples } = readTuples(data);
    const masked: (string | null)[][] = tuples.map((t) => {
      const key = codecs[0]!.decode(t.fields[0]!, 0, t.fields[0]!.length)!;
      return [key, ...COLUMNS.map((c, i) => {
        const f = t.fields[i + 1]!;
        const original = codecs[i + 1]!.decode(f, 0, f.length);
        return original === null ? null : c.placeholder(original, key);
      })];
    });
    const file = path.join(tmp, 'placeholders.bin');
    writeFileSync(file, Buffer.concat([binaryCopyHeader(), ...masked.map((row) => binaryTuple(row.map((v, i) => codecs[i]!.encode(v)))), BINARY_COPY_TRAILER]));
    psqlCopy(db, `\\copy t2 FROM '${file}' WITH (FORMAT binary)`);
    const loaded = queryRows(db, `${select} FROM t2 ORDER BY id`);
    expect(loaded).toEqual(masked.map((row) => castAsText(db, row)));
    // decode(encode(placeholder)) is PostgreSQL's text for it, except where the column's
    // typmod changes the value on load (numeric(12,4) pads, char(5) pads).
    const typmod = new Set(['n2', 'bc'].map((name) => COLUMNS.findIndex((c) => c.name === name) + 1));
    const untouched = (values: readonly string[]): string[] => values.filter((_v, i) => !typmod.has(i));
    const shown = masked.map((row) => row.map((v, i) => codecs[i]!.decode(codecs[i]!.encode(v), 0, codecs[i]!.encode(v).length) ?? NULL_TEXT));
    expect(shown.map(untouched)).toEqual(loaded.map(untouched));
  });

  it('loads constants in the literal forms a user may write, as their text forms would load', () => {
    const row = ['100', ...COLUMNS.map((c) => c.constant)];
    const file = path.join(tmp, 'constants.bin');
    writeFileSync(file, Buffer.concat([binaryCopyHeader(), binaryTuple(row.map((v, i) => codecs[i]!.encode(v))), BINARY_COPY_TRAILER]));
    psqlCopy(db, `\\copy t3 FROM '${file}' WITH (FORMAT binary)`);
    const loaded = queryRows(db, `${select} FROM t3 ORDER BY id`);
    const expected = castAsText(db, row);
    expect(loaded).toEqual([expected]);
    // decode(encode(constant)) is PostgreSQL's text for it, but where the server changes the
    // value on load: a typmod (numeric(12,4), char(5)), jsonb's normalised key order.
    const typmod = new Set(['n2', 'bc', 'jb'].map((name) => COLUMNS.findIndex((c) => c.name === name) + 1));
    const shown = row.map((v, i) => codecs[i]!.decode(codecs[i]!.encode(v), 0, codecs[i]!.encode(v).length));
    expect(shown.filter((_v, i) => !typmod.has(i))).toEqual(expected.filter((_v, i) => !typmod.has(i)));
  });
});

/** PostgreSQL's own reading of each text value as its column type, printed. */
function castAsText(db: string, row: readonly (string | null)[]): string[] {
  const casts = row.map((v, i) => (v === null ? 'NULL' : `${quoteLiteral(v)}::${i === 0 ? 'integer' : COLUMNS[i - 1]!.sql}`));
  return queryRows(db, `SELECT ${casts.join(', ')}`)[0]!;
}
