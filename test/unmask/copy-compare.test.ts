// Comparing a value pgcloak wrote with the same value as pg_dump prints it back.
import { describe, expect, it } from 'vitest';
import { valueComparer } from '../../src/unmask/copy-compare.js';
import type { ResolvedType, TypeKind } from '../../src/schema/types.js';

function type(kind: TypeKind, base: string): ResolvedType {
  return { kind, base, display: base, notNull: false };
}

const same = (t: ResolvedType | undefined, a: string, b: string): boolean => valueComparer(t)(Buffer.from(a), Buffer.from(b));

describe('valueComparer', () => {
  it.each([
    ['numeric(12,2)', type('numeric', 'numeric'), '0', '0.00'],
    ['numeric sign and zeros', type('numeric', 'numeric'), '-012.500', '-12.5'],
    ['negative zero', type('numeric', 'numeric'), '-0.0', '0'],
    ['integer', type('integer', 'int4'), '1', '+1'],
    ['real', type('numeric', 'float4'), '0', '0'],
    ['double exponent', type('numeric', 'float8'), '1e3', '1000'],
    ['money', type('numeric', 'money'), '0', '$0.00'],
    ['money with grouping', type('numeric', 'money'), '1234.5', '$1,234.50'],
    ['boolean', type('boolean', 'bool'), 'false', 'f'],
    ['zero interval', type('interval', 'interval'), '0', '00:00:00'],
    ['empty bytea', type('bytea', 'bytea'), '', '\\\\x'],
    ['bytea hex case', type('bytea', 'bytea'), '\\\\xDEAD', '\\\\xdead'],
    ['timestamptz in another zone', type('timestamptz', 'timestamptz'), '2011-11-11 11:11:11+00', '2011-11-11 12:11:11+01'],
    ['timestamptz with minutes', type('timestamptz', 'timestamptz'), '2011-11-11 11:11:11.5+00', '2011-11-11 16:41:11.5+05:30'],
    ['char(n) padding', type('text', 'bpchar'), 'xxx1', 'xxx1  '],
    ['uuid case', type('uuid', 'uuid'), 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'],
    ['jsonb key order and spacing', type('jsonb', 'jsonb'), '{"b":1,"a":"x"}', '{"a": "x", "b": 1}'],
  ])('%s: %s equals %s', (_name, t, a, b) => {
    expect(same(t, a, b)).toBe(true);
    expect(same(t, b, a)).toBe(true);
  });

  it.each([
    ['numeric', type('numeric', 'numeric'), '0', '0.01'],
    ['boolean', type('boolean', 'bool'), 'false', 't'],
    ['non-zero interval', type('interval', 'interval'), '0', '1 day'],
    ['text is exact', type('text', 'text'), 'xxx1', 'xxx1 '],
    ['varchar case', type('text', 'varchar'), 'Bob', 'bob'],
    ['timestamptz', type('timestamptz', 'timestamptz'), '2011-11-11 11:11:11+00', '2011-11-11 11:11:11+01'],
    ['json keeps its text', type('json', 'json'), '{"a":1}', '{"a": 1}'],
    ['NULL is not empty', type('text', 'text'), '\\N', ''],
    ['NULL is not a zero', type('numeric', 'numeric'), '\\N', '0'],
    ['unknown type compares bytes', undefined, '0', '0.00'],
  ])('%s: %s differs from %s', (_name, t, a, b) => {
    expect(same(t, a, b)).toBe(false);
  });

  it('NULL equals NULL', () => {
    expect(same(type('numeric', 'numeric'), '\\N', '\\N')).toBe(true);
  });
});
