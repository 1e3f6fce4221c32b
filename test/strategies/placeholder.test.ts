// The placeholder strategy: its definition, the placeholder of every type it takes (written
// out by hand, as OpenERP's anonymization module wrote them), text fitted to varchar(n) and
// char(n) in characters, json and arrays keeping their shape, the types it refuses; and
// through a dump: NULL kept, a single-byte encoding, unmask giving every byte back.
import { afterEach, describe, expect, it } from 'vitest';
import type { ResolvedType } from '../../src/schema/types.js';
import { placeholderStrategy } from '../../src/strategies/placeholder.js';
import { STRATEGIES } from '../../src/strategies/registry.js';
import { TEXT, TYPE_SAMPLES, columnContext, maskColumn, maskedValue, refusalOf, removeTempDirs, rowOf, ruleProblems, varchar } from './helpers.js';

afterEach(removeTempDirs);

const ROW = rowOf('1');

function placeholderOf(type: ResolvedType, original: string, row = ROW): string | null {
  return maskedValue(placeholderStrategy.prepare(columnContext(type), {}), original, row);
}

function arrayOf(element: ResolvedType): ResolvedType {
  return { kind: 'array', display: `${element.display}[]`, base: `_${element.base}`, element, notNull: false };
}

const char = (n: number): ResolvedType => ({ kind: 'text', display: `character(${n})`, base: 'bpchar', maxLength: n, notNull: false });

describe('placeholder: definition', () => {
  it('is registered under its name, keyless, without parameters', () => {
    expect(STRATEGIES.get('placeholder')).toBe(placeholderStrategy);
    expect(placeholderStrategy.name).toBe('placeholder');
    expect(placeholderStrategy.parameters).toEqual([]);
    expect(placeholderStrategy.keyed).not.toBe(true);
    expect(placeholderStrategy.checkParams({})).toEqual([]);
  });

  it('refuses a parameter in the rules file, naming its path', () => {
    expect(ruleProblems('placeholder')).toEqual([]);
    expect(ruleProblems('{strategy: placeholder, length: 3}')).toEqual(["tables.t.columns.c.length: strategy 'placeholder' takes no such parameter"]);
  });

  it('takes the types its definition names, and refuses the others naming the rule', () => {
    expect(placeholderStrategy.accepts).toBe('text, numbers, boolean, date/time types, interval, bytea, json/jsonb, arrays of these, enums, uuid, inet/cidr, macaddr');
    const refused = Object.entries(TYPE_SAMPLES)
      .filter(([, type]) => refusalOf(() => placeholderStrategy.prepare(columnContext(type), {})) !== undefined)
      .map(([name]) => name);
    expect(refused).toEqual(['unsupported']);
    const point = TYPE_SAMPLES['unsupported']!;
    for (const type of [point, arrayOf(point), arrayOf(arrayOf(point)), { ...TYPE_SAMPLES['enum']!, labels: [] }, { kind: 'array', display: 'anyarray', base: 'anyarray', notNull: false } as const]) {
      expect(refusalOf(() => placeholderStrategy.prepare(columnContext(type), {}))).toEqual({
        code: 'TYPE_UNSUPPORTED',
        detail: `tables.t.columns.c: no safe placeholder for type ${type.display}; choose another strategy (null, constant, keep)`,
        position: { table: 'public.t', column: 'c' },
      });
    }
  });
});

describe('placeholder: values', () => {
  it('writes the typed placeholder of every type it takes', () => {
    const cases: Array<[string, string, string]> = [
      ['text', 'Alice Martin', 'xxx1'],
      ['varchar', 'alice@example.com', 'xxx1'],
      ['integer', '-42', '1'],
      ['numeric', '3.14', '0'],
      ['boolean', 't', 'false'],
      ['date', '1990-05-17', '2011-11-11'],
      ['timestamp', '2024-02-29 23:59:59.5', '2011-11-11 11:11:11'],
      ['timestamptz', '2024-02-29 23:59:59+02', '2011-11-11 11:11:11+00'],
      ['time', '08:30:00', '11:11:11'],
      ['timetz', '08:30:00+02', '11:11:11+00'],
      ['interval', '3 days 04:05:06', '0'],
      ['bytea', '\\x4a6f686e', ''],
      ['json', '{"name": "Ann", "age": 42, "tags": ["a", null, true], "ok": false}', '{"name": "xxx1", "age": 0, "tags": ["xxx1", null, false], "ok": false}'],
      ['jsonb', ' [ "x" ,1.5e3 ] ', ' [ "xxx1" ,0 ] '],
      ['enum', 'happy', 'sad'],
      ['uuid', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'd4012966-3ce2-8bbc-8597-3e7c97609cc5'],
      ['inet', '10.1.2.3', '192.0.2.1'],
      ['cidr', '10.1.0.0/16', '192.0.2.0/24'],
      ['macaddr', '08:00:2b:01:02:03', '00:00:5e:00:53:00'],
      ['macaddr8', '08:00:2b:01:02:03:04:05', '00:00:5e:ff:fe:00:53:00'],
      ['text[]', '{alice,"b c",NULL,"NULL"}', '{xxx1,xxx1,NULL,xxx1}'],
      ['integer[]', '{5,NULL,-7}', '{1,NULL,1}'],
    ];
    expect(cases.map(([name]) => name).sort()).toEqual(Object.keys(TYPE_SAMPLES).filter((n) => n !== 'unsupported').sort());
    for (const [name, original, expected] of cases) expect({ name, value: placeholderOf(TYPE_SAMPLES[name]!, original) }).toEqual({ name, value: expected });
  });

  it('gives constants a constant mask, and text, uuid, json and arrays the mask that reads what they need', () => {
    const kindOf = (name: string): string => placeholderStrategy.prepare(columnContext(TYPE_SAMPLES[name]!), {}).kind;
    expect(['integer', 'date', 'bytea', 'enum', 'inet'].map(kindOf)).toEqual(['constant', 'constant', 'constant', 'constant', 'constant']);
    expect(['text', 'uuid'].map(kindOf)).toEqual(['row', 'row']);
    expect(['json', 'jsonb', 'text[]', 'integer[]'].map(kindOf)).toEqual(['value', 'value', 'value', 'value']);
    // The row masker may build xxx<key> from the key's bytes: the mask says so, with the limit.
    expect(placeholderStrategy.prepare(columnContext(TEXT), {})).toMatchObject({ keyText: { maxLength: undefined } });
    expect(placeholderStrategy.prepare(columnContext(varchar(4)), {})).toMatchObject({ keyText: { maxLength: 4 } });
    expect(placeholderStrategy.prepare(columnContext(TYPE_SAMPLES['json']!), {})).toMatchObject({ jsonKeyText: true });
  });

  it('gives every row its own uuid, a valid version 8 one', () => {
    const uuids = ['1', '2', '42', 'é', '1-2'].map((key) => placeholderOf(TYPE_SAMPLES['uuid']!, 'ignored', rowOf(key)));
    expect(uuids[2]).toBe('6a281362-7c51-80c7-92bf-2225caf0b312');
    expect(uuids[3]).toBe('80517644-0297-88a2-a4bc-cf53ec47948e');
    for (const u of uuids) expect(u).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(new Set(uuids).size).toBe(uuids.length);
  });

  it('fits xxx<key> to varchar(n) and char(n) in characters: xxx shrinks first, then the key keeps its end', () => {
    const cases: Array<[ResolvedType, string, string]> = [
      [varchar(5), '42', 'xxx42'],
      [varchar(4), '42', 'xx42'],
      [varchar(3), '42', 'x42'],
      [varchar(2), '42', '42'],
      [char(3), '7', 'xx7'],
      // Characters, not bytes: é and € are 2 and 3 bytes in UTF-8, 🎉 two UTF-16 units.
      [varchar(4), 'é€', 'xxé€'],
      [varchar(2), '🎉', 'x🎉'],
      [varchar(5), 'Zoë-3', 'Zoë-3'],
    ];
    for (const [type, key, expected] of cases) expect({ type: type.display, key, value: placeholderOf(type, 'secret', rowOf(key)) }).toEqual({ type: type.display, key, value: expected });
  });

  it('cuts a key longer than the column to its last characters, warning once per column', () => {
    const warnings: string[] = [];
    const mask = placeholderStrategy.prepare(columnContext(varchar(2), { warn: (w) => warnings.push(w) }), {});
    expect(['123', 'ab🎉', '99', '1234'].map((key) => maskedValue(mask, 'secret', rowOf(key)))).toEqual(['23', 'b🎉', '99', '34']);
    expect(warnings).toEqual(['tables.t.columns.c: row keys are longer than character varying(2): placeholders cut to fit may repeat']);
  });

  it('keeps the shape of arrays: dimensions, bounds, NULL elements; elements quoted as array_out quotes them', () => {
    const timestamp = TYPE_SAMPLES['timestamp']!;
    const cases: Array<[ResolvedType, string, string]> = [
      [TYPE_SAMPLES['integer[]']!, '{{1,2},{3,4}}', '{{1,1},{1,1}}'],
      [TYPE_SAMPLES['integer[]']!, '[0:1]={5,6}', '[0:1]={1,1}'],
      [TYPE_SAMPLES['integer[]']!, '{}', '{}'],
      [arrayOf(timestamp), '{"2020-01-01 10:00:00",NULL}', '{"2011-11-11 11:11:11",NULL}'],
      [arrayOf(TYPE_SAMPLES['bytea']!), '{"\\\\x01",NULL}', '{"",NULL}'],
      [arrayOf(varchar(4)), '{a,b}', '{xxx1,xxx1}'],
      [arrayOf(TYPE_SAMPLES['jsonb']!), '{"{\\"a\\": \\"s\\"}"}', '{"{\\"a\\": \\"xxx1\\"}"}'],
      [arrayOf(TYPE_SAMPLES['uuid']!), '{a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11,NULL}', '{d4012966-3ce2-8bbc-8597-3e7c97609cc5,NULL}'],
      [arrayOf(TYPE_SAMPLES['enum']!), '{happy,ok}', '{sad,sad}'],
    ];
    for (const [type, original, expected] of cases) expect({ original, value: placeholderOf(type, original) }).toEqual({ original, value: expected });
  });

  it('refuses a json value that is not json, without showing it', () => {
    const mask = placeholderStrategy.prepare(columnContext(TYPE_SAMPLES['jsonb']!), {});
    const refusal = refusalOf(() => maskedValue(mask, '{"secret": oops}', ROW));
    expect(refusal?.code).toBe('COPY_VALUE');
    expect(refusal?.detail).not.toContain('secret');
  });
});

describe('placeholder: through a dump', () => {
  it('masks every non-NULL value, the empty string too, and keeps NULL', async () => {
    const { fields } = await maskColumn('text', ['Alice', '\\N', '', 'tab\\there', '\\\\N'], 'placeholder');
    expect(fields).toEqual(['xxx1', '\\N', 'xxx3', 'xxx4', 'xxx5']);
  });

  it('fits character varying(3) and keeps the shape of jsonb and arrays', async () => {
    expect((await maskColumn('character varying(3)', ['ab', '\\N', 'c'], 'placeholder')).fields).toEqual(['xx1', '\\N', 'xx3']);
    expect((await maskColumn('jsonb', ['{"a": "x", "b": [1, null]}', '\\N'], 'placeholder')).fields).toEqual(['{"a": "xxx1", "b": [0, null]}', '\\N']);
    expect((await maskColumn('integer[]', ['{1,NULL,3}', '\\N', '{}'], 'placeholder')).fields).toEqual(['{1,NULL,1}', '\\N', '{}']);
  });

  it('writes placeholders in the dump\'s encoding: an enum label in LATIN1', async () => {
    const ddl = "CREATE TYPE public.saison AS ENUM ('été', 'hiver');";
    const { fields } = await maskColumn('public.saison', ['hiver', '\\N', 'été'], 'placeholder', { encoding: 'LATIN1', ddl });
    // Read back as LATIN1: one byte 0xE9 per é (UTF-8 would read as Ã©).
    expect(fields).toEqual(['été', '\\N', 'été']);
    const json = await maskColumn('json', ['{"é": "Zoë"}', '\\N'], 'placeholder', { encoding: 'LATIN1' });
    expect(json.fields).toEqual(['{"é": "xxx1"}', '\\N']);
  });
});
