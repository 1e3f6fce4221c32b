// The keep strategy: the column passes through untouched, on any type; a rule that says so
// explicitly (and a key column may only be kept).
import { afterEach, describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { keepStrategy } from '../../src/strategies/keep.js';
import { STRATEGIES } from '../../src/strategies/registry.js';
import { TYPE_SAMPLES, columnContext, maskColumn, removeTempDirs, ruleProblems } from './helpers.js';

afterEach(removeTempDirs);

/** The problems parseRules finds in a whole rules file. */
function ruleProblemsOf(text: string): string[] {
  try {
    parseRules(text);
  } catch (error) {
    if (error instanceof PgcloakError && error.code === 'RULES_INVALID') return error.detail.split('\n  ').slice(1);
    throw error;
  }
  return [];
}

describe('keep: definition', () => {
  it('is registered under its name, keyless, without parameters', () => {
    expect(STRATEGIES.get('keep')).toBe(keepStrategy);
    expect(keepStrategy.name).toBe('keep');
    expect(keepStrategy.parameters).toEqual([]);
    expect(keepStrategy.keyed).not.toBe(true);
    expect(keepStrategy.checkParams({})).toEqual([]);
    expect(ruleProblems('{strategy: keep, value: x}')).toEqual(["tables.t.columns.c.value: strategy 'keep' takes no such parameter"]);
  });

  it('takes any type, as its definition says, NOT NULL columns too', () => {
    expect(keepStrategy.accepts).toBe('any type');
    for (const [name, type] of Object.entries(TYPE_SAMPLES)) {
      expect({ name, mask: keepStrategy.prepare(columnContext(type), {}) }).toEqual({ name, mask: { kind: 'keep' } });
      expect({ name, mask: keepStrategy.prepare(columnContext({ ...type, notNull: true }, { notNull: true }), {}) }).toEqual({ name, mask: { kind: 'keep' } });
    }
  });

  it('is the only strategy a key column may have', () => {
    const rules = (strategy: string): string => `tables:\n  t:\n    key: id\n    columns:\n      id: ${strategy}\n`;
    expect(ruleProblemsOf(rules('keep'))).toEqual([]);
    expect(ruleProblemsOf(rules('placeholder'))).toEqual(['tables.t.key: key column "id" cannot be masked (rows are matched by it)']);
  });
});

describe('keep: through a dump', () => {
  it('writes every value as it was, byte for byte, NULL and escapes included', async () => {
    const fields = ['Alice', '\\N', '', 'tab\\there\\\\', '\\\\N'];
    expect((await maskColumn('text', fields, 'keep')).fields).toEqual(fields);
    expect((await maskColumn('integer[]', ['{1,NULL}', '\\N'], 'keep')).fields).toEqual(['{1,NULL}', '\\N']);
  });

  it('keeps LATIN1 bytes as they were', async () => {
    expect((await maskColumn('text', ['été', '\\N'], 'keep', { encoding: 'LATIN1' })).fields).toEqual(['été', '\\N']);
  });
});
