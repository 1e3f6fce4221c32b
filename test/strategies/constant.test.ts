// The constant strategy: its parameter checked when the rules are read, the value checked
// against the column's type at start-up (so that the masked dump restores), written in the
// dump's encoding; and, against the real PostgreSQL, every value it takes is one PostgreSQL
// takes for that type.
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedType } from '../../src/schema/types.js';
import { constantProblem, constantStrategy } from '../../src/strategies/constant.js';
import { STRATEGIES } from '../../src/strategies/registry.js';
import { describeWithPg, queryRows, quoteLiteral } from '../integration/pg.js';
import { TYPE_SAMPLES, columnContext, maskColumn, maskWith, makeTempDir, refusalOf, removeTempDirs, ruleProblems, varchar } from './helpers.js';

afterEach(removeTempDirs);

function type(kind: ResolvedType['kind'], display: string, base: string = display): ResolvedType {
  return { kind, display, base, notNull: false };
}

describe('constant: definition', () => {
  it('is registered under its name, keyless, with one required parameter', () => {
    expect(STRATEGIES.get('constant')).toBe(constantStrategy);
    expect(constantStrategy.name).toBe('constant');
    expect(constantStrategy.parameters.map((p) => [p.name, p.required])).toEqual([['value', true]]);
    expect(constantStrategy.keyed).not.toBe(true);
  });

  it("checks 'value' when the rules are read: present, a string, number or boolean; problems name the rule path", () => {
    expect(constantStrategy.checkParams({ value: 'n/a' })).toEqual([]);
    expect(constantStrategy.checkParams({ value: 0 })).toEqual([]);
    expect(constantStrategy.checkParams({ value: false })).toEqual([]);
    expect(constantStrategy.checkParams({})).toEqual(["needs a 'value'"]);
    for (const value of [null, [1], { a: 1 }]) expect(constantStrategy.checkParams({ value })).toEqual(["'value' must be a string, number or boolean"]);
    expect(ruleProblems('{strategy: constant, value: ""}')).toEqual([]);
    expect(ruleProblems('constant')).toEqual(["tables.t.columns.c: needs a 'value'"]);
    expect(ruleProblems('{strategy: constant, value: [1, 2]}')).toEqual(["tables.t.columns.c: 'value' must be a string, number or boolean"]);
    expect(ruleProblems('{strategy: constant, value: ~}')).toEqual(["tables.t.columns.c: 'value' must be a string, number or boolean"]);
    expect(ruleProblems('{strategy: constant, value: x, length: 3}')).toEqual(["tables.t.columns.c.length: strategy 'constant' takes no such parameter"]);
  });

  it('takes any type, as its definition says: a valid value becomes the constant, an unchecked type is warned about', () => {
    expect(constantStrategy.accepts).toBe('any type (the value is checked for text limits, numbers, booleans, dates, times, uuid, inet, json, enums)');
    const values: Record<string, string> = {
      text: 'n/a', varchar: 'n/a', integer: '0', numeric: '0.00', boolean: 'false', date: '2000-01-01', timestamp: '2000-01-01 00:00:00',
      timestamptz: '2000-01-01 00:00:00+00', time: '12:00', timetz: '12:00+00', interval: '1 day', bytea: '\\x00', json: '{}', jsonb: '[]',
      enum: 'ok', uuid: '00000000-0000-0000-0000-000000000000', inet: '192.0.2.1', cidr: '192.0.2.0/24', macaddr: '00:00:5e:00:53:00',
      macaddr8: '00:00:5e:ff:fe:00:53:00', 'text[]': '{}', 'integer[]': '{1}', unsupported: '(0,0)',
    };
    expect(Object.keys(values).sort()).toEqual(Object.keys(TYPE_SAMPLES).sort());
    const warnings: string[] = [];
    for (const [name, value] of Object.entries(values)) {
      const mask = constantStrategy.prepare(columnContext(TYPE_SAMPLES[name]!, { warn: (w) => warnings.push(w) }), { value });
      expect({ name, mask }).toEqual({ name, mask: { kind: 'constant', value } });
    }
    expect(warnings).toEqual(['interval', 'bytea', 'text[]', 'integer[]', 'point'].map((t) => `tables.t.columns.c: constant not checked against type ${t}`));
  });

  it('writes numbers and booleans from the rules file as their text', () => {
    expect(constantStrategy.prepare(columnContext(TYPE_SAMPLES['integer']!), { value: -7 })).toEqual({ kind: 'constant', value: '-7' });
    expect(constantStrategy.prepare(columnContext(TYPE_SAMPLES['numeric']!), { value: 2.5 })).toEqual({ kind: 'constant', value: '2.5' });
    expect(constantStrategy.prepare(columnContext(TYPE_SAMPLES['boolean']!), { value: true })).toEqual({ kind: 'constant', value: 'true' });
  });
});

describe('constant: values that do not fit the column', () => {
  const smallint = type('integer', 'smallint', 'int2');
  const cases: Array<[ResolvedType, string, string]> = [
    [varchar(8), 'ninechars', 'is longer than character varying(8) allows'],
    [TYPE_SAMPLES['text']!, 'a\0b', 'contains a NUL character'],
    [TYPE_SAMPLES['integer']!, '1.5', 'is not an integer'],
    [TYPE_SAMPLES['integer']!, '2147483648', 'is out of range for integer'],
    [smallint, '32768', 'is out of range for smallint'],
    [TYPE_SAMPLES['numeric']!, '1,5', 'is not a number'],
    [type('numeric', 'double precision', 'float8'), '1e309', 'is out of range for double precision'],
    [type('numeric', 'real', 'float4'), '1e-50', 'is out of range for real'],
    [type('numeric', 'money'), '1e3', 'is not a number'],
    [type('numeric', 'money'), '92233720368547758.08', 'is out of range for money'],
    [TYPE_SAMPLES['boolean']!, 'maybe', 'is not a boolean'],
    [TYPE_SAMPLES['date']!, '17/05/1990', 'is not a date (YYYY-MM-DD)'],
    [TYPE_SAMPLES['date']!, '2021-02-29', 'is out of range for date'],
    [TYPE_SAMPLES['date']!, '0000-01-01', 'is out of range for date'],
    [TYPE_SAMPLES['timestamp']!, '2021-01-01 24:00:01', 'is out of range for timestamp without time zone'],
    [TYPE_SAMPLES['timestamptz']!, '2021-01-01 10:00+16', 'is out of range for timestamp with time zone'],
    [TYPE_SAMPLES['time']!, '23:60', 'is out of range for time without time zone'],
    [TYPE_SAMPLES['timetz']!, '08:30+99', 'is out of range for time with time zone'],
    [TYPE_SAMPLES['uuid']!, 'not-a-uuid', 'is not a uuid'],
    [TYPE_SAMPLES['inet']!, '10.0.0.1/33', 'has an invalid prefix length'],
    [TYPE_SAMPLES['inet']!, 'fe80::1%eth0', 'is not an IP address'],
    [TYPE_SAMPLES['cidr']!, '192.168.1.1/24', 'has bits set to the right of its prefix'],
    [TYPE_SAMPLES['cidr']!, '2001:db8::1/32', 'has bits set to the right of its prefix'],
    [TYPE_SAMPLES['macaddr']!, '08:00-2b:01-02:03', 'is not a MAC address'],
    [TYPE_SAMPLES['macaddr8']!, '08:00-2b:01:02:03:04:05', 'is not an EUI-64 MAC address'],
    [TYPE_SAMPLES['json']!, '{"a":', 'is not valid JSON'],
    [TYPE_SAMPLES['jsonb']!, '{"k": "a\\u0000b"}', 'has a \\u0000 or an unpaired surrogate, which jsonb cannot hold'],
    [TYPE_SAMPLES['enum']!, 'meh', 'is not a label of public.mood'],
  ];

  it('names the problem', () => {
    for (const [t, value, problem] of cases) expect({ type: t.display, value, problem: constantProblem(t, value) }).toEqual({ type: t.display, value, problem });
  });

  it('is refused at start-up, naming the rule path and the column type', () => {
    for (const [t, value, problem] of cases) {
      expect(refusalOf(() => constantStrategy.prepare(columnContext(t), { value }))).toEqual({
        code: 'RULES_SCHEMA',
        detail: `tables.t.columns.c: constant ${problem} (column type ${t.display})`,
        position: { table: 'public.t', column: 'c' },
      });
    }
  });

  it('counts varchar(n) in characters, not bytes', () => {
    expect(constantProblem(varchar(8), 'ééééééé€')).toBeUndefined(); // 8 characters, 17 bytes
    expect(constantProblem(varchar(8), 'ééééééé€x')).toBe('is longer than character varying(8) allows');
    expect(constantProblem(varchar(2), '🎉🎉')).toBeUndefined(); // 2 characters, 4 UTF-16 units
  });
});

// Values for each type, PostgreSQL's own reading of them the reference: every value the
// constant strategy takes must restore. Where pgcloak is stricter than PostgreSQL (forms it does
// not read), STRICTER says so; the test checks that PostgreSQL does take those.
const CANDIDATES: Array<[string, ResolvedType, string[]]> = [
  ['int4', type('integer', 'integer', 'int4'), ['42', ' 42 ', '+42', '-2147483648', '2147483648', '4.0', '1e3', '', 'abc', '0x1F', '1 2']],
  ['int2', type('integer', 'smallint', 'int2'), ['32767', '32768', '-32768']],
  ['int8', type('integer', 'bigint', 'int8'), ['9223372036854775807', '9223372036854775808']],
  ['oid', type('integer', 'oid'), ['4294967295', '4294967296', '-1', '0']],
  ['numeric', type('numeric', 'numeric'), ['3.14', '-0.5e-3', '.5', '5.', 'NaN', '-NaN', 'Infinity', '-inf', ' 1 ', '1,5', '', '1e', 'abc', '1e400', '+.5e+3']],
  ['float8', type('numeric', 'double precision', 'float8'), ['1e308', '1e309', '1e-400', '-1e400', 'inf', '-NaN', '4.9e-324', '1e-320']],
  ['float4', type('numeric', 'real', 'float4'), ['3.4e38', '1e39', '1e-50', '1e-45', 'inf']],
  ['money', type('numeric', 'money'), ['$1,000.00', '12.34', '-5', '-$5', '$-5', '1e3', 'NaN', 'Infinity', '92233720368547758.07', '92233720368547758.08', '-92233720368547758.08']],
  ['bool', type('boolean', 'boolean', 'bool'), ['yes', ' on ', 'TRUE', '1', 'maybe', '2', '', 'tr']],
  ['date', type('date', 'date'), ['2020-02-29', '2021-02-29', '2021-02-30', '2021-04-31', '2021-13-01', '0000-01-01', '0001-01-01', '9999-12-31', '1900-02-29', '2000-02-29', '2021-01-00', '20210101']],
  ['timestamp', type('timestamp', 'timestamp without time zone', 'timestamp'), ['2021-01-01 10:00:00', '2021-01-01T10:00', '2021-02-30 10:00:00', '2021-01-01 25:00:00', '2021-01-01 24:00:00', '2021-01-01 24:00:01', '2021-01-01 23:60:00', '2021-01-01 23:59:60', '2021-01-01 23:59:61', '2021-01-01 10:00:00.123456']],
  ['timestamptz', type('timestamptz', 'timestamp with time zone', 'timestamptz'), ['2021-01-01 10:00:00+02', '2021-01-01 10:00:00Z', '2021-01-01 10:00:00+0530', '2021-01-01 10:00:00+15:59', '2021-01-01 10:00:00+16', '2021-01-01 10:00:00+15:60', '2021-02-30 10:00:00+00']],
  ['time', type('time', 'time without time zone', 'time'), ['08:30', '24:00:00', '24:00:01', '23:60', '12:30:60', '12:30:61', '99:00']],
  ['timetz', type('timetz', 'time with time zone', 'timetz'), ['08:30+02', '08:30:00-0530', '25:00+00', '08:30+99', '08:30+15', '08:30+16', '24:00+00', '08:30+14:60']],
  ['uuid', type('uuid', 'uuid'), ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'A0EEBC999C0B4EF8BB6D6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a1', 'g0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11']],
  ['inet', type('inet', 'inet'), ['192.168.1.1', '192.168.1.1/24', '::1', '2001:db8::/32', '192.168.1.300', '10.0.0.1/33', '10.0.0.1/abc', 'fe80::1%eth0', '::ffff:1.2.3.4', '10.0.0.1/', '::1/129', '::1/128', '10.0.0.1/24/3']],
  ['cidr', type('cidr', 'cidr'), ['192.168.1.0/24', '192.168.1.1/24', '2001:db8::/32', '2001:db8::1/32', '10.0.0.1', '10.0.0.0/33', '0.0.0.0/0', '::ffff:1.2.3.0/120', '::ffff:1.2.3.4/120', '255.255.255.255/31']],
  ['macaddr', type('macaddr', 'macaddr'), ['08:00:2b:01:02:03', '08-00-2b-01-02-03', '08002b:010203', '0800.2b01.0203', '0800-2b01-0203', '08002b010203', '08:00-2b:01-02:03', '08:002b:01:0203', '08:00:2b:01:02:0g']],
  ['macaddr8', type('macaddr8', 'macaddr8'), ['08:00:2b:01:02:03:04:05', '08002b0102030405', '08:00-2b:01:02:03:04:05', '0800.2b01.0203.0405', '08:00:2b:01:02:03', '08002b:0102030405']],
  ['json', type('json', 'json'), ['{"a": 1}', '[1, 2', '"\\ud800"', '"\\u0000"', 'NaN', '{"a":1,"a":2}', '01']],
  ['jsonb', type('jsonb', 'jsonb'), ['{"a": 1}', '"\\u0000"', '"\\ud800"', '"\\ud800\\udc00"', '1e400', '{"\\udc00": 1}']],
];
const STRICTER = new Set(['oid -1', 'money $-5', 'bool tr', 'date 20210101']);

describeWithPg('constant: against PostgreSQL', () => {
  it('takes only values PostgreSQL takes for the type', () => {
    const all = CANDIDATES.flatMap(([pgType, t, values]) => values.map((value) => ({ pgType, t, value })));
    const rows = all.map(({ pgType, value }, i) => `(${i}, ${quoteLiteral(pgType)}, ${quoteLiteral(value)})`);
    const takes = queryRows(
      'postgres',
      `CREATE FUNCTION pg_temp.takes(v text, t text) RETURNS boolean LANGUAGE plpgsql AS $f$
         BEGIN EXECUTE format('SELECT %L::%s', v, t); RETURN true; EXCEPTION WHEN others THEN RETURN false; END $f$;
       SELECT pg_temp.takes(v, t) FROM (VALUES ${rows.join(', ')}) AS c(i, t, v) ORDER BY i;`,
    ).map((r) => r[0] === 't');
    expect(takes).toHaveLength(all.length);
    const show = (ok: (i: number) => boolean): string[] => all.map(({ pgType, value }, i) => `${pgType} ${JSON.stringify(value)}: ${ok(i) ? 'taken' : 'refused'}`);
    expect(show((i) => constantProblem(all[i]!.t, all[i]!.value) === undefined)).toEqual(show((i) => takes[i]! && !STRICTER.has(`${all[i]!.pgType} ${all[i]!.value}`)));
    // The list of stricter cases holds values PostgreSQL does take.
    for (const s of STRICTER) expect(all.some((c, i) => `${c.pgType} ${c.value}` === s && takes[i]), s).toBe(true);
  });
});

describe('constant: through a dump', () => {
  it('writes the value for every non-NULL value, escaped for COPY; NULL stays NULL', async () => {
    expect((await maskColumn('text', ['Alice', '\\N', ''], '{strategy: constant, value: "n/a"}')).fields).toEqual(['n/a', '\\N', 'n/a']);
    expect((await maskColumn('text', ['Alice', '\\N'], '{strategy: constant, value: "a\\tb\\\\c\\nd"}')).fields).toEqual(['a\\tb\\\\c\\nd', '\\N']);
    expect((await maskColumn('integer', ['42', '\\N'], '{strategy: constant, value: 0}')).fields).toEqual(['0', '\\N']);
    expect((await maskColumn('boolean', ['f', '\\N'], '{strategy: constant, value: true}')).fields).toEqual(['true', '\\N']);
  });

  it("writes the value in the dump's encoding: é in LATIN1, Ł ó ź in LATIN2", async () => {
    expect((await maskColumn('text', ['x', '\\N'], '{strategy: constant, value: "été"}', { encoding: 'LATIN1' })).fields).toEqual(['\xe9t\xe9', '\\N']);
    // ISO 8859-2: Ł A3, ó F3, ź BC.
    expect((await maskColumn('text', ['x'], '{strategy: constant, value: "Łódź"}', { encoding: 'LATIN2' })).fields).toEqual(['\xa3\xf3d\xbc']);
  });

  it('fails at start-up on a value the type or the encoding cannot take, before any row', async () => {
    const key = { kind: 'key' as const, key: Buffer.alloc(32, 7) };
    const dump = (sqlType: string, encoding: string): Buffer =>
      Buffer.from(`SET client_encoding = '${encoding}';\nCREATE TABLE public.t (\n    id integer,\n    c ${sqlType}\n);\n\nCOPY public.t (id, c) FROM stdin;\n1\tx\n\\.\n`);
    const rules = (value: string): string => `tables:\n  t:\n    columns:\n      c: {strategy: constant, value: "${value}"}\n`;
    await expect(maskWith(dump('date', 'UTF8'), rules('2021-02-29'), `${makeTempDir()}/v`, key)).rejects.toThrow(
      /^RULES_SCHEMA: tables\.t\.columns\.c: constant is out of range for date \(column type date\) \(public\.t, column c\)$/,
    );
    await expect(maskWith(dump('text', 'LATIN1'), rules('5 €'), `${makeTempDir()}/v`, key)).rejects.toThrow(/^RULES_SCHEMA: .*LATIN1 cannot hold/);
  });
});
