// The hash strategy: opaque hex, keyed, deterministic, cut to fit the column.
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { parseRules } from '../../src/rules/rules-file.js';
import { DEFAULT_HASH_LENGTH, hashStrategy, hashText } from '../../src/strategies/hash.js';
import type { RowContext, ValueMask } from '../../src/strategies/strategy.js';
import { TEXT, columnContext, makeTempDir, maskWith, removeTempDirs, varchar } from './helpers.js';

const KEY = Buffer.alloc(32, 0x33);

afterEach(removeTempDirs);
const row: RowContext = { key: () => '1', field: () => null };

function derive(mask: ValueMask, value: string): string {
  if (mask.kind !== 'value') throw new Error('expected a value mask');
  return mask.derive(value, row);
}

describe('hash', () => {
  it('writes lower-case hex of the default length, the same for the same value', () => {
    const mask = hashStrategy.prepare(columnContext(TEXT), {});
    const h = derive(mask, 'alice@example.com');
    expect(h).toMatch(new RegExp(`^[0-9a-f]{${DEFAULT_HASH_LENGTH}}$`));
    expect(derive(mask, 'alice@example.com')).toBe(h);
    expect(derive(mask, 'alice@example.co')).not.toBe(h);
    expect(h).toBe(hashText('alice@example.com', KEY, DEFAULT_HASH_LENGTH));
  });

  it('is keyed: another key gives another hash', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), (v) => {
        expect(hashText(v, KEY, 32)).toBe(hashText(v, KEY, 32));
        expect(hashText(v, Buffer.alloc(32, 0x44), 32)).not.toBe(hashText(v, KEY, 32));
      }),
    );
  });

  it('takes a length, and is cut to fit varchar(n): always a prefix of the longest hash', () => {
    const full = hashText('x', KEY, 128);
    expect(derive(hashStrategy.prepare(columnContext(TEXT), { length: 12 }), 'x')).toBe(full.slice(0, 12));
    expect(derive(hashStrategy.prepare(columnContext(TEXT), { length: 128 }), 'x')).toBe(full);
    for (const n of [1, 7, 20, 31, 32, 200]) {
      const h = derive(hashStrategy.prepare(columnContext(varchar(n)), {}), 'x');
      expect(h).toBe(full.slice(0, Math.min(n, DEFAULT_HASH_LENGTH)));
    }
  });

  it('warns when the column cuts hashes so short that values may share one', () => {
    const warnings: string[] = [];
    hashStrategy.prepare(columnContext(varchar(8), { warn: (w) => warnings.push(w) }), {});
    hashStrategy.prepare(columnContext(varchar(20), { warn: (w) => warnings.push(w) }), {});
    expect(warnings).toEqual(['tables.t.columns.c: hashes cut to 8 characters to fit character varying(8): different values may get the same hash']);
  });

  it('hashes arrays of text element by element, NULL elements kept', () => {
    const mask = hashStrategy.prepare(columnContext({ kind: 'array', display: 'text[]', base: '_text', element: TEXT, notNull: false }), { length: 8 });
    expect(derive(mask, '{a,NULL}')).toBe(`{${hashText('a', KEY, 8)},NULL}`);
  });

  it('checks its parameter when the rules are read', () => {
    for (const length of [0, 129, 1.5, '16']) {
      expect(() => parseRules(`tables:\n  t:\n    columns:\n      c: {strategy: hash, length: ${JSON.stringify(length)}}\n`)).toThrow(
        /tables\.t\.columns\.c: 'length' must be an integer from 1 to 128/,
      );
    }
  });

  it('takes a domain: unrelated hashes in another one, the same in the same one', () => {
    const plain = derive(hashStrategy.prepare(columnContext(TEXT), {}), 'alice');
    const a = derive(hashStrategy.prepare(columnContext(TEXT), { domain: 'a' }), 'alice');
    expect(a).toBe(hashText('alice', KEY, DEFAULT_HASH_LENGTH, 'a'));
    expect(derive(hashStrategy.prepare(columnContext(TEXT), { domain: 'a' }), 'alice')).toBe(a);
    expect(new Set([plain, a, hashText('alice', KEY, DEFAULT_HASH_LENGTH, 'b')]).size).toBe(3);
    // The domain is length-prefixed: moving bytes between it and the value changes the hash.
    expect(hashText('c', KEY, 32, 'ab')).not.toBe(hashText('bc', KEY, 32, 'a'));
    expect(() => parseRules('tables:\n  t:\n    columns:\n      c: {strategy: hash, domain: ""}\n')).toThrow(/'domain' must be a non-empty string/);
  });

  it('says how many bits it leaves, for the collision warning', () => {
    const mask = hashStrategy.prepare(columnContext(varchar(10)), { length: 12 });
    expect(mask.kind === 'value' && mask.collisionBits).toBe(40);
  });

  it('warns at the end of the run when a table has rows enough for two values to share a hash, naming the column', async () => {
    const rows = Array.from({ length: 200 }, (_, i) => `${i + 1}\tuser${i}@example.com\tref-${i}`).join('\n');
    const dump = Buffer.from(
      `SET client_encoding = 'UTF8';\nCREATE TABLE public.t (id integer, mail text, ref text);\nCOPY public.t (id, mail, ref) FROM stdin;\n${rows}\n\\.\n`,
    );
    const rules = 'tables:\n  t:\n    columns:\n      mail: {strategy: hash, length: 6}\n      ref: {strategy: hash, length: 16}\n';
    const { warnings } = await maskWith(dump, rules, `${makeTempDir()}/v`, { kind: 'key', key: Buffer.alloc(32, 1) });
    // 200 rows under 24 bits: 200² / 2^25 ≈ 1.2e-3 > 1e-6; under 64 bits ≈ 1e-15: no warning.
    expect(warnings.filter((w) => w.includes('share a hash'))).toEqual([
      'tables.t.columns.mail: 200 rows of public.t under hashes of 6 hex characters (24 bits): two different values share a hash with a chance of about 0.0012 (birthday bound), which breaks UNIQUE constraints and joins: give a larger `length`',
    ]);
  });

  it('refuses other types, and a run without a key', () => {
    expect(() => hashStrategy.prepare(columnContext({ kind: 'integer', display: 'integer', base: 'int4', notNull: false }), {})).toThrow(
      /RULES_SCHEMA: tables\.t\.columns\.c: strategy 'hash' does not fit type integer/,
    );
    expect(() => hashStrategy.prepare(columnContext(TEXT, { secret: undefined }), {})).toThrow(/^KEY_MISSING: tables\.t\.columns\.c/);
  });
});
