// The pseudonym strategy alone: shape kept character by character, deterministic under a key,
// another key another pseudonym, a permutation within a shape (no two values share one).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PgcloakError } from '../../src/errors.js';
import type { ResolvedType } from '../../src/schema/types.js';
import { FEISTEL_MAX_POSITIONS, pseudonymStrategy, pseudonymText } from '../../src/strategies/pseudonym.js';
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
    expect(pseudonymText('alice@example.com', Buffer.alloc(32, 1))).toBe('mamgm@fxgubid.jvo');
    expect(pseudonymText('+33 6 12 34 56 78', Buffer.alloc(32, 1))).toBe('+47 4 73 96 01 86');
    expect(pseudonymText('José Álvarez', Buffer.alloc(32, 1))).toBe('Paqð Ëfodiwe');
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
