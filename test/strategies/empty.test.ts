// The empty strategy: '' for text and bytea (attachments), {} for arrays of any element type,
// refused on every other type (an empty integer or date would not restore).
import { afterEach, describe, expect, it } from 'vitest';
import { emptyStrategy } from '../../src/strategies/empty.js';
import { STRATEGIES } from '../../src/strategies/registry.js';
import { TYPE_SAMPLES, columnContext, maskColumn, maskWith, makeTempDir, refusalOf, removeTempDirs, ruleProblems, varchar } from './helpers.js';

afterEach(removeTempDirs);

describe('empty: definition', () => {
  it('is registered under its name, keyless, without parameters', () => {
    expect(STRATEGIES.get('empty')).toBe(emptyStrategy);
    expect(emptyStrategy.name).toBe('empty');
    expect(emptyStrategy.parameters).toEqual([]);
    expect(emptyStrategy.keyed).not.toBe(true);
    expect(emptyStrategy.checkParams({})).toEqual([]);
    expect(ruleProblems('empty')).toEqual([]);
    expect(ruleProblems('{strategy: empty, value: ""}')).toEqual(["tables.t.columns.c.value: strategy 'empty' takes no such parameter"]);
  });

  it('takes text types, bytea and arrays, as its definition says; each gets its empty constant', () => {
    expect(emptyStrategy.accepts).toBe('text types, bytea, arrays');
    const point = TYPE_SAMPLES['unsupported']!;
    const accepted: Array<[string, unknown]> = [
      ['text', ''],
      ['varchar', ''],
      ['bytea', ''],
      ['text[]', '{}'],
      ['integer[]', '{}'],
    ];
    for (const [name, value] of accepted) expect({ name, mask: emptyStrategy.prepare(columnContext(TYPE_SAMPLES[name]!), {}) }).toEqual({ name, mask: { kind: 'constant', value } });
    // '' fits any varchar(n); an array of a type it refuses is still an array.
    expect(emptyStrategy.prepare(columnContext(varchar(1)), {})).toEqual({ kind: 'constant', value: '' });
    expect(emptyStrategy.prepare(columnContext({ kind: 'array', display: 'point[]', base: '_point', element: point, notNull: false }), {})).toEqual({ kind: 'constant', value: '{}' });
  });

  it('refuses every other type, naming the rule and the type', () => {
    const refused = Object.keys(TYPE_SAMPLES).filter((name) => !['text', 'varchar', 'bytea', 'text[]', 'integer[]'].includes(name));
    expect(refused).toHaveLength(18);
    for (const name of refused) {
      const type = TYPE_SAMPLES[name]!;
      expect(refusalOf(() => emptyStrategy.prepare(columnContext(type), {}))).toEqual({
        code: 'RULES_SCHEMA',
        detail: `tables.t.columns.c: strategy 'empty' does not fit type ${type.display}`,
        position: { table: 'public.t', column: 'c' },
      });
    }
  });
});

describe('empty: through a dump', () => {
  it("writes '' for text and bytea and {} for arrays of any shape; NULL stays NULL", async () => {
    expect((await maskColumn('text', ['Alice', '\\N', '', 'a\\tb'], 'empty')).fields).toEqual(['', '\\N', '', '']);
    expect((await maskColumn('character(3)', ['abc', '\\N'], 'empty')).fields).toEqual(['', '\\N']);
    expect((await maskColumn('bytea', ['\\\\x4a6f686e', '\\N', '\\\\x'], 'empty')).fields).toEqual(['', '\\N', '']);
    expect((await maskColumn('integer[]', ['{{1,2},{3,4}}', '\\N', '[0:1]={5,6}'], 'empty')).fields).toEqual(['{}', '\\N', '{}']);
  });

  it('writes the same in a LATIN1 dump', async () => {
    expect((await maskColumn('text', ['été', '\\N'], 'empty', { encoding: 'LATIN1' })).fields).toEqual(['', '\\N']);
  });

  it('fails at start-up on a type it refuses, naming the rule path', async () => {
    const dump = Buffer.from('CREATE TABLE public.t (\n    id integer,\n    c date\n);\n\nCOPY public.t (id, c) FROM stdin;\n1\t2020-01-01\n\\.\n');
    await expect(maskWith(dump, 'tables:\n  t:\n    columns:\n      c: empty\n', `${makeTempDir()}/v`, { kind: 'key', key: Buffer.alloc(32, 7) })).rejects.toThrow(
      /^RULES_SCHEMA: tables\.t\.columns\.c: strategy 'empty' does not fit type date \(public\.t, column c\)$/,
    );
  });
});
