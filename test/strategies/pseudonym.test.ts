// The pseudonym strategy alone: shape kept character by character, deterministic under a key,
// another key another pseudonym, a permutation within a shape (no two values share one), on
// every domain a sound one (issue 21: no keyed shift on one position), `domain:` separating
// columns, and the algorithm of pgcloak 0.1.0 still there for its vaults.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import { parseRules } from '../../src/rules/rules-file.js';
import type { ResolvedType } from '../../src/schema/types.js';
import { FEISTEL_MAX_POSITIONS, pseudonymStrategy, pseudonymText } from '../../src/strategies/pseudonym.js';
import { CACHE_BYTES, forgetShuffles, shuffleCacheBytes } from '../../src/strategies/small-domain.js';
import type { ColumnContext, RowContext } from '../../src/strategies/strategy.js';
import { textLength } from '../../src/strategies/text-fit.js';

const KEY = Buffer.alloc(32, 0x11);
const OTHER_KEY = Buffer.alloc(32, 0x22);

const ACCENTED_LOWER = 'àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþ';
const ACCENTED_UPPER = 'ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÐÑÒÓÔÕÖØÙÚÛÜÝÞ';

/** What each input character may become: its class, or itself. */
function expectSameShape(original: string, pseudonym: string): void {
  const a = Array.from(original);
  const b = Array.from(pseudonym);
  expect(b).toHaveLength(a.length);
  expect(Buffer.byteLength(pseudonym)).toBeLessThanOrEqual(Buffer.byteLength(original));
  a.forEach((c, i) => {
    const o = b[i]!;
    if (/[a-z]/.test(c)) expect(o).toMatch(/^[a-z]$/);
    else if (/[A-Z]/.test(c)) expect(o).toMatch(/^[A-Z]$/);
    else if (/[0-9]/.test(c)) expect(o).toMatch(/^[0-9]$/);
    else if (/[\p{Lu}\p{Lt}]/u.test(c)) expect(ACCENTED_UPPER).toContain(o);
    else if (/\p{L}/u.test(c)) expect(ACCENTED_LOWER).toContain(o);
    else if (/\p{Nd}/u.test(c)) expect(o).toMatch(/^[0-9]$/);
    else expect(o).toBe(c);
  });
}

/** A column of `type`; `secret: null` for a run without a key. */
function column(type: ResolvedType, secret: Buffer | null = KEY): ColumnContext {
  return {
    table: 'public.t',
    column: 'c',
    type,
    notNull: false,
    path: 'tables.t.columns.c',
    warn: () => undefined,
    columns: ['id', 'c'],
    masked: new Set(['c']),
    secret: secret ?? undefined,
  };
}

const text: ResolvedType = { kind: 'text', display: 'text', base: 'text', notNull: false };
const row: RowContext = { key: () => '1', field: () => null };

describe('pseudonymText', () => {
  it('keeps the shape of e-mails, phone numbers and names', () => {
    for (const v of ['alice@example.com', 'Bob.Smith+news@mail.example.org', '+33 6 12 34 56 78', '(555) 010-0199', 'O\'Brien-Smythe', 'x']) {
      const p = pseudonymText(v, KEY);
      expectSameShape(v, p);
      expect(p).not.toBe(v);
    }
    const mail = pseudonymText('alice@example.com', KEY);
    expect(mail).toMatch(/^[a-z]{5}@[a-z]{7}\.[a-z]{3}$/);
  });

  it('is pinned: the same key gives these pseudonyms in every version (vaults depend on it)', () => {
    const key = Buffer.alloc(32, 1);
    // Domains of 10^6 values and more, without a domain: what algorithm 1 gave, too.
    for (const version of [1, 2]) {
      expect(pseudonymText('alice@example.com', key, { version })).toBe('mamgm@fxgubid.jvo');
      expect(pseudonymText('+33 6 12 34 56 78', key, { version })).toBe('+47 4 73 96 01 86');
      expect(pseudonymText('José Álvarez', key, { version })).toBe('Paqð Ëfodiwe');
    }
    // Smaller domains: shuffled whole (algorithm 2, the default).
    expect(['0', '7', 'a', 'Q', '42', 'abcd', 'C-12', '75011'].map((v) => pseudonymText(v, key))).toEqual(['8', '4', 'j', 'X', '32', 'wsww', 'P-80', '57845']);
    expect([...'0123456789'].map((d) => pseudonymText(d, key)).join('')).toBe('8902753461');
    // In a domain.
    expect(['7', 'abcd', 'alice@example.com'].map((v) => pseudonymText(v, key, { domain: 'customers' }))).toEqual(['3', 'ujrj', 'mgwkh@ozgjoks.ptx']);
    // Algorithm 1 (pgcloak 0.1.0), for its vaults: a keyed shift on one position.
    expect(['0', '7', 'a', 'Q', '42', 'abcd', 'C-12', '75011'].map((v) => pseudonymText(v, key, { version: 1 }))).toEqual(['4', '1', 'f', 'V', '36', 'nozf', 'L-70', '62277']);
    expect([...'0123456789'].map((d) => pseudonymText(d, key, { version: 1 })).join('')).toBe('4567890123');
  });

  it('leaves values without letters or digits, and the empty string, as they are', () => {
    for (const v of ['', '---', ' ', '@.+-', '🎉 ✓']) expect(pseudonymText(v, KEY)).toBe(v);
  });

  it('maps other letters into accented Latin letters of the same case, other digits to ASCII digits', () => {
    const v = 'Zoë Жанна 中文 ÉCOLE ١٢٣ 🎉';
    const p = pseudonymText(v, KEY);
    expectSameShape(v, p);
    expect(textLength(p)).toBe(textLength(v));
    expect(p.endsWith(' 🎉')).toBe(true);
  });

  it('keeps case variants case variants (joins on lower() still match)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9@.]{1,20}$/), (v) => {
        expect(pseudonymText(v, KEY).toLowerCase()).toBe(pseudonymText(v.toLowerCase(), KEY));
      }),
    );
    expect(pseudonymText('JOSÉ', KEY)).toBe(pseudonymText('josé', KEY).toUpperCase());
  });

  it('gives every value of a small shape its own pseudonym (a permutation)', () => {
    const seen = new Set<string>();
    for (let a = 0; a < 26; a++) {
      for (let b = 0; b < 10; b++) {
        for (let c = 0; c < 26; c++) seen.add(pseudonymText(`${String.fromCharCode(97 + a)}${b}-${String.fromCharCode(65 + c)}`, KEY));
      }
    }
    expect(seen.size).toBe(26 * 10 * 26);
    const digits = new Set<string>();
    for (let i = 0; i < 10000; i++) digits.add(pseudonymText(String(i).padStart(4, '0'), KEY));
    expect(digits.size).toBe(10000);
  });

  it('handles values longer than the permutation takes', () => {
    const v = `${'word '.repeat(40)}and 1234567890`;
    expect(Array.from(v.replaceAll(/[^a-z0-9]/g, '')).length).toBeGreaterThan(FEISTEL_MAX_POSITIONS);
    const p = pseudonymText(v, KEY);
    expectSameShape(v, p);
    expect(pseudonymText(v, KEY)).toBe(p);
    expect(pseudonymText(v, OTHER_KEY)).not.toBe(p);
  });
});

/** Every value of a shape given as classes: 'a' a lower-case letter, 'A' an upper-case one, '0' a digit. */
function valuesOfShape(shape: string): string[] {
  const alphabets = Array.from(shape, (c) => (c === 'a' ? 'abcdefghijklmnopqrstuvwxyz' : c === 'A' ? 'ABCDEFGHIJKLMNOPQRSTUVWXYZ' : '0123456789'));
  let out = [''];
  for (const alphabet of alphabets) out = out.flatMap((prefix) => Array.from(alphabet, (c) => prefix + c));
  return out;
}

/** Every shape of 1 to `max` positions. */
function shapesUpTo(max: number): string[] {
  let level = [''];
  const out: string[] = [];
  for (let n = 1; n <= max; n++) {
    level = level.flatMap((s) => ['a', 'A', '0'].map((c) => s + c));
    out.push(...level);
  }
  return out;
}

function keyNumber(i: number): Buffer {
  const key = Buffer.alloc(32);
  key.writeUInt32BE(i, 0);
  key[31] = 0x5a;
  return key;
}

describe('pseudonymText on small domains (issue 21)', () => {
  it('is a bijection on every shape of 1, 2 and 3 letters and digits, and keeps each one', () => {
    const shapes = shapesUpTo(3);
    expect(shapes).toHaveLength(3 + 9 + 27);
    for (const shape of shapes) {
      const values = valuesOfShape(shape);
      const images = new Set<string>();
      for (const v of values) {
        const p = pseudonymText(v, KEY);
        expectSameShapeQuick(v, p);
        images.add(p);
      }
      expect(images.size, shape).toBe(values.length);
    }
  });

  it('on one position, is no shift under any key, and fixes about one value (as a random permutation does)', () => {
    const KEYS = 300;
    for (const alphabet of ['0123456789', 'abcdefghijklmnopqrstuvwxyz']) {
      const r = alphabet.length;
      let fixed = 0;
      let shifts = 0;
      for (let k = 0; k < KEYS; k++) {
        const key = keyNumber(k);
        const image = Array.from(alphabet, (c) => alphabet.indexOf(pseudonymText(c, key)));
        expect(new Set(image).size).toBe(r);
        fixed += image.filter((y, x) => y === x).length;
        if (new Set(image.map((y, x) => (y - x + r) % r)).size === 1) shifts++;
        forgetShuffles(key);
      }
      // A shift of r values is one permutation in (r-1)!/1: none in 300 keys.
      expect(shifts, alphabet).toBe(0);
      // Fixed points of a random permutation: mean 1, variance 1; over 300 keys the mean is within 0.25 of 1 but for 1 chance in 10^4.
      expect(fixed / KEYS, alphabet).toBeGreaterThan(0.75);
      expect(fixed / KEYS, alphabet).toBeLessThan(1.25);
    }
  });

  it('was a shift on one position in algorithm 1 (kept for old vaults only)', () => {
    for (let k = 0; k < 20; k++) {
      const image = Array.from('0123456789', (c) => Number(pseudonymText(c, keyNumber(k), { version: 1 })));
      expect(new Set(image.map((y, x) => (y - x + 10) % 10)).size).toBe(1);
    }
  });

  it('gives unrelated pseudonyms in another domain, the same in the same one', () => {
    const digits = (options: { domain?: string }): string => Array.from('0123456789', (c) => pseudonymText(c, KEY, options)).join('');
    expect(digits({})).toBe(digits({}));
    expect(digits({ domain: 'customers' })).toBe(digits({ domain: 'customers' }));
    expect(new Set([digits({}), digits({ domain: 'customers' }), digits({ domain: 'suppliers' })]).size).toBe(3);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{8,20}(@[a-z]{3,8}\.[a-z]{2,3})?$/), fc.string({ minLength: 1, maxLength: 20 }), (v, domain) => {
        const plain = pseudonymText(v, KEY);
        const other = pseudonymText(v, KEY, { domain });
        expect(pseudonymText(v, KEY, { domain })).toBe(other);
        expect(other).not.toBe(plain);
        expectSameShapeQuick(v, other);
      }),
      { numRuns: 200 },
    );
  });

  it('shares one table between shapes of one pattern of letters and digits (so their number is bounded)', () => {
    // The characters around the letters and digits do not choose the table.
    for (const v of ['ab-cd', 'ab.cd', 'a b c d', '(ab)cd']) expect(pseudonymText(v, KEY).replace(/[^a-z]/g, '')).toBe(pseudonymText('abcd', KEY));
    expect(pseudonymText('A1', KEY).toLowerCase()).toBe(pseudonymText('a-1', KEY).replace('-', ''));
  });

  it('keeps its tables within CACHE_BYTES however many domains come, and gives the same pseudonyms after an eviction', () => {
    const key = Buffer.alloc(32, 0x77);
    const first = pseudonymText('abcd', key, { domain: 'd0' });
    // Four letters in 40 domains: 40 tables of 456 976 values (1.8 MB each, 73 MB in all).
    let most = 0;
    for (let d = 0; d < 40; d++) {
      pseudonymText('wxyz', key, { domain: `d${d}` });
      most = Math.max(most, shuffleCacheBytes());
    }
    expect(most).toBeGreaterThan(CACHE_BYTES / 2);
    expect(most).toBeLessThanOrEqual(CACHE_BYTES);
    expect(pseudonymText('abcd', key, { domain: 'd0' })).toBe(first);
    forgetShuffles(key);
    expect(shuffleCacheBytes()).toBe(0);
  }, 60_000);
});

/** The class of every character kept (ASCII letters and digits only). */
function expectSameShapeQuick(original: string, pseudonym: string): void {
  if (asciiShape(pseudonym) !== asciiShape(original)) expect(`${pseudonym} for ${original}`).toBe('the same shape');
}

function asciiShape(s: string): string {
  return s.replace(/[a-z]/g, 'a').replace(/[A-Z]/g, 'A').replace(/[0-9]/g, '0');
}

describe('pseudonymText properties', () => {
  const anyText = fc.string({ unit: 'binary', maxLength: 40 });
  const shaped = fc.string({ unit: fc.constantFrom(...'aZq09 @.+-_éÉßЖ中٣🎉'), maxLength: 30 });

  it('keeps length in characters and the class of every character', () => {
    fc.assert(
      fc.property(fc.oneof(anyText, shaped), (v) => {
        expectSameShape(v, pseudonymText(v, KEY));
      }),
      { numRuns: 500 },
    );
  });

  it('is deterministic, and another key gives another pseudonym', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{6,30}$/), (v) => {
        expect(pseudonymText(v, KEY)).toBe(pseudonymText(v, KEY));
        expect(pseudonymText(v, OTHER_KEY)).not.toBe(pseudonymText(v, KEY));
      }),
      { numRuns: 300 },
    );
  });

  it('never gives two different values of one shape the same pseudonym', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-zA-Z0-9.@ -]{1,12}$/), fc.integer({ min: 0 }), (v, seed) => {
        // Another value of the same shape: one letter or digit changed.
        const chars = Array.from(v);
        const positions = chars.flatMap((c, i) => (/[a-zA-Z0-9]/.test(c) ? [i] : []));
        fc.pre(positions.length > 0);
        const i = positions[seed % positions.length]!;
        const c = chars[i]!;
        chars[i] = /[0-9]/.test(c) ? String((Number(c) + 1) % 10) : String.fromCharCode(((c.toLowerCase().charCodeAt(0) - 97 + 1) % 26) + (c === c.toLowerCase() ? 97 : 65));
        const w = chars.join('');
        expect(pseudonymText(w, KEY)).not.toBe(pseudonymText(v, KEY));
      }),
      { numRuns: 500 },
    );
  });

  it('keeps e-mail addresses e-mail shaped', () => {
    fc.assert(
      fc.property(fc.emailAddress(), (v) => {
        const p = pseudonymText(v, KEY);
        expectSameShape(v, p);
        expect(p.indexOf('@')).toBe(v.indexOf('@'));
        expect(p.split('.').length).toBe(v.split('.').length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('pseudonym strategy', () => {
  it('masks text values, and arrays of text element by element', () => {
    const mask = pseudonymStrategy.prepare(column(text), {});
    expect(mask.kind).toBe('value');
    if (mask.kind !== 'value') return;
    expect(mask.derive('alice@example.com', row)).toBe(pseudonymText('alice@example.com', KEY));
    const array = pseudonymStrategy.prepare(column({ kind: 'array', display: 'text[]', base: '_text', element: text, notNull: false }), {});
    if (array.kind !== 'value') throw new Error('expected a value mask');
    expect(array.derive('{alice,NULL,"b c"}', row)).toBe(`{${pseudonymText('alice', KEY)},NULL,"${pseudonymText('b c', KEY)}"}`);
  });

  it('fits varchar(n): the length in characters is kept', () => {
    const mask = pseudonymStrategy.prepare(column({ kind: 'text', display: 'character varying(5)', base: 'varchar', maxLength: 5, notNull: false }), {});
    if (mask.kind !== 'value') throw new Error('expected a value mask');
    expect(textLength(mask.derive('Zoë 🎉', row))).toBe(5);
  });

  it('takes a domain: another one gives other pseudonyms, and the rules file checks it', () => {
    const plain = pseudonymStrategy.prepare(column(text), {});
    const inDomain = pseudonymStrategy.prepare(column(text), { domain: 'suppliers' });
    if (plain.kind !== 'value' || inDomain.kind !== 'value') throw new Error('expected value masks');
    expect(inDomain.derive('alice@example.com', row)).toBe(pseudonymText('alice@example.com', KEY, { domain: 'suppliers' }));
    expect(inDomain.derive('alice@example.com', row)).not.toBe(plain.derive('alice@example.com', row));
    expect(parseRules('tables:\n  t:\n    columns:\n      c: {strategy: pseudonym, domain: suppliers}\n').tables.get('public.t')?.columns.get('c')?.params).toEqual({ domain: 'suppliers' });
    for (const domain of ['""', '5', '[a]', JSON.stringify('x'.repeat(101))]) {
      expect(() => parseRules(`tables:\n  t:\n    columns:\n      c: {strategy: pseudonym, domain: ${domain}}\n`)).toThrow(
        /tables\.t\.columns\.c: 'domain' must be a non-empty string of at most 100 characters/,
      );
    }
  });

  it('masks with the algorithm the column names (an old vault\'s)', () => {
    const old = pseudonymStrategy.prepare({ ...column(text), pseudonymVersion: 1 }, {});
    if (old.kind !== 'value') throw new Error('expected a value mask');
    expect(old.derive('7', row)).toBe(pseudonymText('7', KEY, { version: 1 }));
    expect(() => pseudonymStrategy.prepare({ ...column(text), pseudonymVersion: 3 }, {})).toThrow(/VAULT_FORMAT: unknown pseudonym algorithm version 3/);
  });

  it('refuses a run without a key, naming the rule', () => {
    expect(() => pseudonymStrategy.prepare(column(text, null), {})).toThrow(PgcloakError);
    expect(() => pseudonymStrategy.prepare(column(text, null), {})).toThrow(/^KEY_MISSING: tables\.t\.columns\.c: strategy 'pseudonym' needs a key/);
  });

  it('refuses types that are not text, naming the rule', () => {
    expect(() => pseudonymStrategy.prepare(column({ kind: 'integer', display: 'integer', base: 'int4', notNull: false }), {})).toThrow(
      /RULES_SCHEMA: tables\.t\.columns\.c: strategy 'pseudonym' does not fit type integer/,
    );
  });
});
