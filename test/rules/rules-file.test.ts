import { describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { parseRules } from '../../src/rules/rules-file.js';
import { parseQualifiedName } from '../../src/schema/names.js';

function problems(text: string): string {
  try {
    parseRules(text);
  } catch (err) {
    if (err instanceof PgcloakError && err.code === 'RULES_INVALID') return err.message;
    throw err;
  }
  throw new Error('rules accepted');
}

describe('rules file', () => {
  it('normalises table names: public by default, quoted parts, no case folding', () => {
    const r = parseRules('tables:\n  res_partner: {columns: {name: placeholder}}\n  \'"Sales Dept"."Client List"\': {key: ["ID"], columns: {"E-mail": placeholder}}\n  Customer: {columns: {Email: placeholder}}\n');
    expect([...r.tables.keys()]).toEqual(['public.res_partner', '"Sales Dept"."Client List"', 'public."Customer"']);
    expect(r.tables.get('"Sales Dept"."Client List"')?.keyColumns).toEqual(['ID']);
    expect(r.digest).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reads `column: null` as the null strategy and objects with parameters', () => {
    const r = parseRules('tables:\n  t:\n    columns:\n      a: null\n      b: {strategy: constant, value: 7}\n');
    const t = r.tables.get('public.t')!;
    expect(t.columns.get('a')?.strategy.name).toBe('null');
    expect(t.columns.get('b')?.params).toEqual({ value: 7 });
  });

  it('reports every problem with its path', () => {
    const m = problems(
      [
        'tables:',
        '  t:',
        '    kye: [id]',
        '    columns:',
        '      a: hsah',
        '      b: {strategy: constant}',
        '      c: {strategy: placeholder, size: 3}',
        '  public.t: {columns: {}}',
        '  "a.b.c": {columns: {}}',
        'extra: 1',
      ].join('\n'),
    );
    expect(m).toContain('extra: unknown field');
    expect(m).toContain('tables.t.kye: unknown field');
    expect(m).toContain("tables.t.columns.a: unknown strategy 'hsah'");
    expect(m).toContain("tables.t.columns.b: needs a 'value'");
    expect(m).toContain("tables.t.columns.c.size: strategy 'placeholder' takes no such parameter");
    expect(m).toContain('tables.public.t: names the same table as tables.t');
    expect(m).toContain('tables.a.b.c: not a table name');
  });

  it('refuses a masked key column and bad YAML', () => {
    expect(problems('tables:\n  t:\n    key: [code]\n    columns:\n      code: placeholder\n')).toContain('tables.t.key: key column "code" cannot be masked');
    expect(problems('tables: [\n')).toMatch(/YAML/);
    expect(problems('tables:\n  t: 3\n')).toContain("tables.t: expected a mapping with 'columns'");
  });
});

describe('qualified names', () => {
  it('parses the forms rules use', () => {
    expect(parseQualifiedName('t')).toEqual({ schema: 'public', name: 't' });
    expect(parseQualifiedName('s.t')).toEqual({ schema: 's', name: 't' });
    expect(parseQualifiedName('"a.b"."c ""d"""')).toEqual({ schema: 'a.b', name: 'c "d"' });
    expect(parseQualifiedName('"x"')).toEqual({ schema: 'public', name: 'x' });
    for (const bad of ['', 'a.', '.a', 'a.b.c', '"open', 'a"b']) expect(parseQualifiedName(bad)).toBeUndefined();
  });
});
