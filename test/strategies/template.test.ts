// The template strategy: its syntax checked when the rules are read, its columns when the
// table's DDL streams by, its results fitted to varchar(n).
import { afterEach, describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { parseRules } from '../../src/rules/rules-file.js';
import type { RowContext, ValueMask } from '../../src/strategies/strategy.js';
import { parseTemplate, templateStrategy } from '../../src/strategies/template.js';
import { SHOP_DUMP, TEXT, columnContext, copyRows, makeTempDir, maskWith, removeTempDirs, varchar } from './helpers.js';

afterEach(removeTempDirs);

function rowOf(key: string, fields: Record<string, string | null>): RowContext {
  return { key: () => key, field: (c) => fields[c] ?? null };
}

function derive(mask: ValueMask, row: RowContext): string {
  if (mask.kind !== 'row') throw new Error(`expected a row mask, got ${mask.kind}`);
  return mask.derive(row);
}

const KEY_SOURCE = { kind: 'key' as const, key: Buffer.alloc(32, 5) };

describe('parseTemplate', () => {
  it('reads {key}, {col:NAME} and doubled braces', () => {
    expect(parseTemplate('client-{key} of {col:partner_id} {{x}}')).toEqual({
      parts: [
        { kind: 'text', text: 'client-' },
        { kind: 'key' },
        { kind: 'text', text: ' of ' },
        { kind: 'column', column: 'partner_id' },
        { kind: 'text', text: ' {x}' },
      ],
      problems: [],
    });
    expect(parseTemplate('{col:E-mail}').parts).toEqual([{ kind: 'column', column: 'E-mail' }]);
  });

  it('names what is wrong', () => {
    expect(parseTemplate('{id}').problems).toEqual(["'value': unknown placeholder {id} (use {key}, {col:NAME}, or {{ and }} for braces)"]);
    expect(parseTemplate('{col:}').problems).toHaveLength(1);
    expect(parseTemplate('a{key').problems).toEqual(["'value': a { without its } (write {{ for a brace)"]);
    expect(parseTemplate('a}b').problems).toEqual(["'value': a } without its { (write }} for a brace)"]);
  });

  it('is checked when the rules file is read, with the rule path', () => {
    expect(() => parseRules('tables:\n  customer:\n    columns:\n      ref: {strategy: template, value: "x-{id}"}\n')).toThrow(
      /tables\.customer\.columns\.ref: 'value': unknown placeholder \{id\}/,
    );
    expect(() => parseRules('tables:\n  customer:\n    columns:\n      ref: template\n')).toThrow(/tables\.customer\.columns\.ref: needs a 'value'/);
  });
});

describe('template strategy', () => {
  it('writes the row key and other columns; NULL reads as empty', () => {
    const mask = templateStrategy.prepare(columnContext(TEXT, { columns: ['id', 'c', 'partner_id'] }), { value: 'client-{key}/{col:partner_id}' });
    expect(derive(mask, rowOf('42', { partner_id: '7' }))).toBe('client-42/7');
    expect(derive(mask, rowOf('43', { partner_id: null }))).toBe('client-43/');
  });

  it('is a constant when it names nothing of the row', () => {
    expect(templateStrategy.prepare(columnContext(TEXT), { value: 'n/a {{}}' })).toEqual({ kind: 'constant', value: 'n/a {}' });
  });

  it('cuts results to fit varchar(n), warning once', () => {
    const warnings: string[] = [];
    const mask = templateStrategy.prepare(columnContext(varchar(8), { warn: (w) => warnings.push(w) }), { value: 'client-{key}' });
    expect(derive(mask, rowOf('7', {}))).toBe('client-7');
    expect(derive(mask, rowOf('12345', {}))).toBe('client-1');
    expect(derive(mask, rowOf('12346', {}))).toBe('client-1');
    expect(warnings).toEqual(['tables.t.columns.c: template results longer than character varying(8) are cut to fit: values may repeat']);
  });

  it('refuses fixed text longer than the column, unknown and masked columns, and non-text types', () => {
    const cases: Array<[Parameters<typeof columnContext>, string, RegExp]> = [
      [[varchar(5)], 'client-{key}', /tables\.t\.columns\.c: the template's fixed text is longer than character varying\(5\) allows/],
      [[TEXT], '{col:partner}', /tables\.t\.columns\.c: the template names column "partner", which public\.t does not have/],
      [[TEXT, { columns: ['id', 'c', 'email'], masked: new Set(['c', 'email']) }], '{col:email}', /names column "email", which is masked/],
      [[TEXT], 'copy of {col:c}', /names column "c", which is masked/],
      [[{ kind: 'integer', display: 'integer', base: 'int4', notNull: false }], '{key}', /strategy 'template' does not fit type integer/],
    ];
    for (const [args, value, message] of cases) {
      let error: unknown;
      try {
        templateStrategy.prepare(columnContext(...args), { value });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(PgcloakError);
      expect((error as PgcloakError).code).toBe('RULES_SCHEMA');
      expect((error as PgcloakError).message).toMatch(message);
    }
  });

  it('fails a masking run at start-up, before any row, naming the rule path', async () => {
    const dir = makeTempDir();
    const rules = 'tables:\n  customer:\n    columns:\n      ref: {strategy: template, value: "{col:partner}"}\n';
    await expect(maskWith(SHOP_DUMP, rules, `${dir}/v`, KEY_SOURCE)).rejects.toThrow(
      /^RULES_SCHEMA: tables\.customer\.columns\.ref: the template names column "partner", which public\.customer does not have/,
    );
  });

  it('masks a dump: key and a kept column of the row, fitted to varchar(12)', async () => {
    const dir = makeTempDir();
    const rules = 'tables:\n  customer:\n    columns:\n      ref: {strategy: template, value: "client-{key}-{col:partner_id}"}\n';
    const { output } = await maskWith(SHOP_DUMP, rules, `${dir}/v`, KEY_SOURCE);
    expect(copyRows(output, 'public.customer').map((r) => r[5])).toEqual(['client-1-7', 'client-2-', '\\N', 'client-4-8']);
  });
});
