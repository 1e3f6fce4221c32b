// text-fit, the helper that fits xxx<key> placeholders (and constants, templates) to varchar(n)
// and char(n): lengths in characters as PostgreSQL counts them, the xxx prefix shrinking
// before the key, a key longer than the column cut to its end and reported.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fitPlaceholderText, textLength } from '../../src/strategies/text-fit.js';
import { describeWithPg, queryRows, quoteLiteral } from '../integration/pg.js';

/** Characters as code points, counted the plain way. */
const chars = (s: string): string[] => Array.from(s);

describe('textLength', () => {
  it('counts code points: a UTF-16 surrogate pair is one character, a combining mark one more', () => {
    const cases: Array<[string, number]> = [
      ['', 0],
      ['abc', 3],
      ['é€', 2], // 2 and 3 bytes in UTF-8
      ['🎉', 1], // two UTF-16 units
      ['a🎉b🎉', 4],
      ['e\u0301', 2], // e + COMBINING ACUTE ACCENT: two characters for varchar(n)
      ['中文字', 3],
    ];
    for (const [s, n] of cases) expect({ s, n: textLength(s) }).toEqual({ s, n });
  });

  it('is the number of code points of any string', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 30 }), (s) => {
        expect(textLength(s)).toBe(chars(s).length);
      }),
      { numRuns: 300 },
    );
  });
});

describe('fitPlaceholderText', () => {
  it('writes xxx<key> whole when there is no limit or it fits', () => {
    expect(fitPlaceholderText('42', undefined)).toBe('xxx42');
    expect(fitPlaceholderText('42', 5)).toBe('xxx42');
    expect(fitPlaceholderText('42', 100)).toBe('xxx42');
    expect(fitPlaceholderText('', 3)).toBe('xxx');
  });

  it('shrinks the xxx prefix first, so the key (unique per row) survives', () => {
    expect(['42', '42', '42'].map((k, i) => fitPlaceholderText(k, 4 - i))).toEqual(['xx42', 'x42', '42']);
    expect(fitPlaceholderText('', 2)).toBe('xx');
    expect(fitPlaceholderText('é€🎉', 4)).toBe('xé€🎉');
    expect(fitPlaceholderText('é€🎉', 3)).toBe('é€🎉');
  });

  it('cuts a key longer than the limit to its last characters, and says so each time', () => {
    let cuts = 0;
    const cut = (): void => void cuts++;
    expect(fitPlaceholderText('12345', 2, cut)).toBe('45');
    expect(fitPlaceholderText('é€🎉', 2, cut)).toBe('€🎉');
    expect(fitPlaceholderText('ab🎉', 1, cut)).toBe('🎉');
    expect(cuts).toBe(3);
    expect(fitPlaceholderText('12', 2, cut)).toBe('12');
    expect(fitPlaceholderText('12', undefined, cut)).toBe('xxx12');
    expect(cuts).toBe(3);
    // Without a callback, the same text.
    expect(fitPlaceholderText('12345', 2)).toBe('45');
  });

  it('for any key and limit: as many characters as fit, the key or its end last, cut reported exactly when the key is cut', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.constantFrom('a', '7', '-', 'é', '€', '🎉', '中', ' '), maxLength: 16 }), fc.integer({ min: 1, max: 20 }), (key, max) => {
        let cut = false;
        const out = fitPlaceholderText(key, max, () => (cut = true));
        const k = chars(key);
        expect(chars(out)).toHaveLength(Math.min(max, k.length + 3));
        expect(cut).toBe(k.length > max);
        if (k.length <= max) expect(out).toBe('x'.repeat(Math.min(3, max - k.length)) + key);
        else expect(out).toBe(k.slice(k.length - max).join(''));
      }),
      { numRuns: 300 },
    );
  });
});

describeWithPg('textLength against PostgreSQL', () => {
  it('counts as char_length counts in a UTF-8 database', () => {
    const samples = ['', 'abc', 'é€', '🎉', 'a🎉b🎉', 'e\u0301', '中文字', 'Zoë Ünal', 'xxé€🎉'];
    const rows = queryRows('postgres', `SELECT char_length(v) FROM (VALUES ${samples.map((s, i) => `(${i}, ${quoteLiteral(s)})`).join(', ')}) AS c(i, v) ORDER BY i`);
    expect(samples.map(textLength)).toEqual(rows.map((r) => Number(r[0])));
  });
});
