// The null strategy: every value becomes NULL, on any type, but never on a NOT NULL column
// (declared on the column or by a domain along the way), whose masked dump would not restore.
import { afterEach, describe, expect, it } from 'vitest';
import { parseRules } from '../../src/rules/rules-file.js';
import { nullStrategy } from '../../src/strategies/null.js';
import { STRATEGIES } from '../../src/strategies/registry.js';
import { TEXT, TYPE_SAMPLES, columnContext, maskColumn, maskWith, makeTempDir, refusalOf, removeTempDirs, ruleProblems } from './helpers.js';

afterEach(removeTempDirs);

const NOT_NULL_REFUSAL = {
  code: 'RULES_SCHEMA',
  detail: "tables.t.columns.c: strategy 'null' on a NOT NULL column",
  position: { table: 'public.t', column: 'c' },
};

describe('null: definition', () => {
  it('is registered under its name, keyless, without parameters', () => {
    expect(STRATEGIES.get('null')).toBe(nullStrategy);
    expect(nullStrategy.name).toBe('null');
    expect(nullStrategy.parameters).toEqual([]);
    expect(nullStrategy.keyed).not.toBe(true);
    expect(nullStrategy.checkParams({})).toEqual([]);
  });

  it('is named in the rules file as null, "null", or a YAML null; a parameter is refused with its path', () => {
    for (const rule of ['null', '"null"', '~', '{strategy: "null"}']) {
      expect(parseRules(`tables:\n  t:\n    columns:\n      c: ${rule}\n`).tables.get('public.t')?.columns.get('c')?.strategy, rule).toBe(nullStrategy);
    }
    expect(ruleProblems('{strategy: "null", value: x}')).toEqual(["tables.t.columns.c.value: strategy 'null' takes no such parameter"]);
  });

  it('takes any nullable column, as its definition says: every type is a constant NULL', () => {
    expect(nullStrategy.accepts).toBe('any nullable column');
    for (const [name, type] of Object.entries(TYPE_SAMPLES)) {
      expect({ name, mask: nullStrategy.prepare(columnContext(type), {}) }).toEqual({ name, mask: { kind: 'constant', value: null } });
    }
  });

  it('refuses a NOT NULL column, and a column whose domain is NOT NULL, naming the rule', () => {
    expect(refusalOf(() => nullStrategy.prepare(columnContext(TEXT, { notNull: true }), {}))).toEqual(NOT_NULL_REFUSAL);
    expect(refusalOf(() => nullStrategy.prepare(columnContext({ ...TEXT, display: 'public.email', notNull: true }), {}))).toEqual(NOT_NULL_REFUSAL);
    expect(refusalOf(() => nullStrategy.prepare(columnContext(TYPE_SAMPLES['integer[]']!, { notNull: true }), {}))).toEqual(NOT_NULL_REFUSAL);
  });
});

describe('null: through a dump', () => {
  it('writes NULL for every value, the empty string too; NULL stays NULL', async () => {
    expect((await maskColumn('text', ['Alice', '', '\\N', '\\\\N'], 'null')).fields).toEqual(['\\N', '\\N', '\\N', '\\N']);
    expect((await maskColumn('integer[]', ['{1,2}', '\\N'], 'null')).fields).toEqual(['\\N', '\\N']);
    expect((await maskColumn('jsonb', ['{"a": 1}'], '~')).fields).toEqual(['\\N']);
  });

  it('writes NULL in a LATIN1 dump, whatever bytes the original had', async () => {
    expect((await maskColumn('character varying(4)', ['été', '\\N'], 'null', { encoding: 'LATIN1' })).fields).toEqual(['\\N', '\\N']);
  });

  it('fails at start-up on a NOT NULL column and on a NOT NULL domain, before any row', async () => {
    const key = { kind: 'key' as const, key: Buffer.alloc(32, 7) };
    const rules = 'tables:\n  t:\n    columns:\n      c: null\n';
    for (const [ddl, type] of [['', 'text NOT NULL'], ['CREATE DOMAIN public.mail AS text NOT NULL;\n', 'public.mail']] as const) {
      const dump = Buffer.from(`${ddl}CREATE TABLE public.t (\n    id integer,\n    c ${type}\n);\n\nCOPY public.t (id, c) FROM stdin;\n1\tsecret\n\\.\n`);
      await expect(maskWith(dump, rules, `${makeTempDir()}/v`, key), type).rejects.toThrow(/^RULES_SCHEMA: tables\.t\.columns\.c: strategy 'null' on a NOT NULL column \(public\.t, column c\)$/);
    }
  });
});
