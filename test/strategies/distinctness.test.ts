// What each strategy declares its output keeps of a column's differences (Distinctness, read
// by the key check before any data) against what its mask does: for every strategy of the
// registry and a column of every type, a declaration exactly where prepare takes the type,
// a `same` value exactly the constant the mask writes, and values that differ, repeat or match
// as declared. A strategy whose declaration drifted from its mask fails here.
import { describe, expect, it } from 'vitest';
import type { ResolvedType } from '../../src/schema/types.js';
import { STRATEGIES } from '../../src/strategies/registry.js';
import type { Distinctness, StrategyDefinition, ValueMask } from '../../src/strategies/strategy.js';
import { TYPE_SAMPLES, columnContext, maskedValue, rowOf } from './helpers.js';

/** Two different values of each sample type (the same length where length could matter). */
const VALUES: Readonly<Record<string, readonly [string, string]>> = {
  text: ['alice', 'bobby'],
  varchar: ['alice', 'bobby'],
  integer: ['5', '6'],
  numeric: ['1.5', '2.5'],
  boolean: ['t', 'f'],
  date: ['2020-01-01', '2020-01-02'],
  timestamp: ['2020-01-01 10:00:00', '2020-01-02 10:00:00'],
  timestamptz: ['2020-01-01 10:00:00+00', '2020-01-02 10:00:00+00'],
  time: ['10:00:00', '11:00:00'],
  timetz: ['10:00:00+00', '11:00:00+00'],
  interval: ['1 day', '2 days'],
  bytea: ['\\x01', '\\x02'],
  json: ['{"a": "x"}', '{"a": "y"}'],
  jsonb: ['{"a": "x"}', '{"a": "y"}'],
  enum: ['ok', 'happy'],
  uuid: ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12'],
  inet: ['10.0.0.1', '10.0.0.2'],
  cidr: ['10.0.0.0/8', '11.0.0.0/8'],
  macaddr: ['08:00:2b:01:02:03', '08:00:2b:01:02:04'],
  macaddr8: ['08:00:2b:01:02:03:04:05', '08:00:2b:01:02:03:04:06'],
  'text[]': ['{alice,bobby}', '{carol,dave}'],
  'integer[]': ['{1,2}', '{3,4}'],
  unsupported: ['(1,2)', '(3,4)'],
};

/** Parameter sets to try per strategy; `constant` gets the type's first sample as its value. */
function paramSets(strategy: StrategyDefinition, type: string): Record<string, unknown>[] {
  switch (strategy.name) {
    case 'constant':
      return [{ value: VALUES[type]![0] }];
    case 'template':
      return [{ value: 'client-{key}' }, { value: 'fixed' }, { value: 'of-{col:id}' }];
    case 'pseudonym':
    case 'hash':
      return [{}, { domain: 'd' }];
    default:
      return [{}];
  }
}

function tryPrepare(strategy: StrategyDefinition, type: ResolvedType, params: Record<string, unknown>): ValueMask | undefined {
  try {
    return strategy.prepare(columnContext(type), params);
  } catch {
    return undefined;
  }
}

const cases = [...STRATEGIES.values()].flatMap((strategy) =>
  Object.keys(TYPE_SAMPLES).flatMap((type) => paramSets(strategy, type).map((params) => ({ strategy, type, params }))),
);

describe('each strategy declares what its mask keeps of a column\'s differences', () => {
  it.each(cases.map((c) => [c.strategy.name, c.type, JSON.stringify(c.params), c] as const))('%s on %s %s', (_n, _t, _p, { strategy, type, params }) => {
    const resolved = TYPE_SAMPLES[type]!;
    const d: Distinctness | undefined = strategy.distinctness(resolved, params);
    const mask = tryPrepare(strategy, resolved, params);
    // Declared exactly for the types prepare takes.
    expect(d === undefined, `declared ${JSON.stringify(d)}, prepare ${mask ? 'takes' : 'refuses'} the type`).toBe(mask === undefined);
    if (!d || !mask) return;
    const [a, b] = VALUES[type]!;
    const masked = (original: string, key: string, other = 'o1'): string | null => maskedValue(mask, original, rowOf(key, { id: other }));
    switch (d.kind) {
      case 'kept':
        expect(mask.kind).toBe('keep');
        break;
      case 'same':
        if (d.value !== undefined) {
          expect(mask).toEqual({ kind: 'constant', value: d.value });
        } else {
          // The same for values that differ only where the mask does not look (an array's elements).
          expect(mask.kind).not.toBe('constant');
          expect(masked(a, '1')).toBe(masked(b, '2'));
        }
        break;
      case 'row':
        // A value per row, whatever the original.
        expect(masked(a, '1')).not.toBe(masked(a, '2'));
        break;
      case 'value':
        // One to one from the value: different values differ, the same value in another row is the same.
        expect(masked(a, '1')).not.toBe(masked(b, '1'));
        expect(masked(a, '1')).toBe(masked(a, '2'));
        break;
      case 'columns':
        expect(d.columns).toEqual(['id']);
        expect(masked(a, '1', 'o1')).toBe(masked(b, '2', 'o1'));
        expect(masked(a, '1', 'o1')).not.toBe(masked(a, '1', 'o2'));
        break;
    }
  });

  it('the constant placeholders, NULL, constant and empty repeat; xxx<key>, uuid, pseudonym and hash do not', () => {
    const kind = (name: string, type: string, params: Record<string, unknown> = {}): string | undefined => STRATEGIES.get(name)!.distinctness(TYPE_SAMPLES[type]!, params)?.kind;
    expect(['integer', 'numeric', 'boolean', 'date', 'timestamptz', 'enum', 'bytea', 'inet', 'integer[]'].map((t) => kind('placeholder', t))).toEqual(Array(9).fill('same'));
    expect(['text', 'varchar', 'uuid', 'json', 'text[]'].map((t) => kind('placeholder', t))).toEqual(Array(5).fill('row'));
    expect(kind('null', 'integer')).toBe('same');
    expect(kind('constant', 'text', { value: 'x' })).toBe('same');
    expect(kind('empty', 'text')).toBe('same');
    expect(kind('pseudonym', 'text')).toBe('value');
    expect(kind('hash', 'text')).toBe('value');
    expect(kind('keep', 'integer')).toBe('kept');
  });

  it('names the function of pseudonym and hash by what makes their values line up: the domain, and the length written', () => {
    const fn = (name: string, type: ResolvedType, params: Record<string, unknown> = {}): string | undefined => {
      const d = STRATEGIES.get(name)!.distinctness(type, params);
      return d?.kind === 'value' ? d.fn : undefined;
    };
    const text = TYPE_SAMPLES['text']!;
    expect(fn('pseudonym', text)).toBe(fn('pseudonym', TYPE_SAMPLES['varchar']!));
    expect(fn('pseudonym', text)).not.toBe(fn('pseudonym', text, { domain: 'd' }));
    expect(fn('hash', text)).toBe(fn('hash', text, { length: 32 }));
    // Cut to fit varchar(8): eight characters, not the 32 of a text column.
    expect(fn('hash', text)).not.toBe(fn('hash', TYPE_SAMPLES['varchar']!));
    expect(fn('hash', text)).not.toBe(fn('pseudonym', text));
  });
});
